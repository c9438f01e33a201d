"""The response stage for a streamed answer: a sliding window across chunk boundaries.

Each streamed text (a chat choice, a Messages content block) is released to the client only
once nothing in it can still turn into a finding: the frames carrying its last `window`
characters are held back, and so is anything a finding or a restorable placeholder still
covers at the cut (a card number split over two chunks is seen whole before a digit of it
leaves), and an unfinished private-key block. Held frames go out as they came, byte for byte,
unless what they carry was redacted or restored: then the first of them carries the new text
and the others none. A block ends the stream with an error event, and what it found never
reaches the client. Frames that carry no text keep their place in the order.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from llm_proxy.guard import secrets
from llm_proxy.guard.detectors import Finding
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.outbound import schema_hits
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan

# Scanning waits until this many characters past the window have come: each scan costs
# the same few µs whatever its length (a 200-character text is one RE2 pass), so scanning
# every 64 rather than every 32 characters halves what the guard adds to a streamed chunk,
# for text released in runs of about ten tokens instead of five.
_STEP = 64
# An unfinished private-key block is held back up to this much, then released as it is.
_MAX_HOLD = 16384
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_\d+\]")
_END = b"\n\n"

# A held frame: its bytes as they came (None: to be encoded from `event`), its parsed event,
# and the offsets of its text in the whole streamed text.
_Frame = tuple[bytes | None, Any, int, int]
Encode = Callable[[Any, str | None], bytes]


class Window:
    """One streamed text, released in safe runs of frames."""

    __slots__ = (
        "_base",
        "_encode",
        "_frames",
        "_hits",
        "_hold",
        "_plan",
        "_redactor",
        "_text",
        "released",
    )

    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit], encode: Encode) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._encode = encode
        self._hold = plan.window
        self._frames: list[_Frame] = []
        self._text = ""
        # Where `_text` starts in the whole streamed text: held frames keep their offsets
        # in the whole text, so releasing some does not renumber the others.
        self._base = 0
        # Everything released, kept only when the answer's JSON must be checked at the end.
        self.released: list[str] | None = None

    @property
    def holding(self) -> bool:
        return bool(self._frames)

    def push(self, raw: bytes | None, event: Any, text: str) -> list[bytes]:
        """Hold a frame carrying `text`; returns the frames now safe to send."""
        self._text += text
        end = self._base + len(self._text)
        self._frames.append((raw, event, end - len(text), end))
        if len(self._text) < self._hold + _STEP:
            return []
        return self._release(final=False)

    def keep(self, raw: bytes) -> None:
        """A frame without text, behind the held ones: it keeps its place."""
        end = self._base + len(self._text)
        self._frames.append((raw, None, end, end))

    def flush(self) -> list[bytes]:
        return self._release(final=True) if self._frames else []

    def _release(self, final: bool) -> list[bytes]:
        text = self._text
        findings = self._plan.screen.scan(text)
        blocked = [f for f in findings if f.detector.action == "block"]
        if blocked:
            self._hits.extend(tally("response", blocked))
            hit = blocking(self._hits)
            assert hit is not None
            raise Blocked(hit, self._hits)
        limit = self._base + (len(text) if final else self._boundary(text, findings))
        held = self._frames
        count = 0
        while count < len(held) and held[count][3] <= limit:
            count += 1
        if count == 0:
            return []
        frames, self._frames = held[:count], held[count:]
        cut = frames[-1][3] - self._base
        self._base += cut
        region, self._text = text[:cut], text[cut:]
        released = [f for f in findings if f.end <= cut]
        if not released and not self._redactor.restores:
            if self.released is not None:
                self.released.append(region)
            return self._frames_out(frames, None)
        self._hits.extend(tally("response", released))
        out = self._redactor.restore(self._redactor.redact(region, released, restorable=False))
        if self.released is not None:
            self.released.append(out)
        return self._frames_out(frames, out if out != region else None)

    def _frames_out(self, frames: list[_Frame], changed: str | None) -> list[bytes]:
        encode = self._encode
        if changed is None:
            return [raw if raw is not None else encode(event, None) for raw, event, _, _ in frames]
        out: list[bytes] = []
        for raw, event, start, end in frames:
            if event is None or (start == end and raw is not None):
                out.append(raw if raw is not None else encode(event, None))
            else:
                out.append(encode(event, changed))
                changed = ""
        return out

    def _boundary(self, text: str, findings: list[Finding]) -> int:
        """Where the safe part ends: at a frame's end, before anything that may still grow."""
        cut = len(text) - self._hold
        space = text.rfind(" ", 0, cut)
        if space > 0:
            # At a space when there is one: what follows a word cannot reach back into it.
            cut = space
        opened = secrets.OPEN_BLOCK.search(text.encode()) if "-----BEGIN" in text else None
        if opened is not None and len(text) < _MAX_HOLD:
            start = len(text.encode()[: opened.start()].decode(errors="ignore"))
            if not any(f.start <= start < f.end for f in findings):
                cut = min(cut, start)
        while True:
            moved = cut
            # A finding or placeholder that reaches the cut may still grow: it waits, whole.
            for finding in reversed(findings):
                if finding.start < cut <= finding.end:
                    cut = finding.start
            if self._redactor.restores:
                for match in _PLACEHOLDER.finditer(text, max(0, cut - 64), cut + 64):
                    if match.start() < cut < match.end():
                        cut = match.start()
            if cut == moved:
                return max(cut, 0)


def guarded(
    events: AsyncIterator[bytes],
    api: str,
    plan: Plan,
    redactor: Redactor,
    hits: list[Hit],
    request: dict[str, Any],
) -> AsyncIterator[bytes]:
    """The client's stream with the response stage applied; `hits` fills as it flows."""
    relay: _Relay = (
        _Anthropic(plan, redactor, hits) if api == "messages" else _OpenAI(plan, redactor, hits)
    )
    if api == "completions":
        relay.completions = True
    if plan.json_schema is not None and api == "chat":
        relay.check_schema = lambda text: schema_hits(plan, text, request)
    return _run(events, relay)


async def _run(events: AsyncIterator[bytes], relay: _Relay) -> AsyncIterator[bytes]:
    try:
        async for piece in events:
            out: list[bytes] = []
            try:
                for frame in piece.split(_END):
                    if frame:
                        out.extend(relay.frame(frame))
            except Blocked as blocked:
                if out:
                    yield b"".join(out)
                yield relay.error_event(blocked)
                return
            if out:
                yield b"".join(out)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class _Relay(ABC):
    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit]) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._windows: dict[int, Window] = {}
        # Legacy completions stream `choices[].text`, not `choices[].delta.content`.
        self.completions = False
        self.check_schema: Callable[[str], list[Hit]] | None = None

    def window(self, index: int) -> Window:
        window = self._windows.get(index)
        if window is None:
            window = Window(self._plan, self._redactor, self._hits, self.encode)
            if self.check_schema is not None:
                window.released = []
            self._windows[index] = window
        return window

    def passing(self, frame: bytes) -> list[bytes]:
        """A frame without text: out now, or behind the frames still held."""
        holding = [w for w in self._windows.values() if w.holding]
        if not holding:
            return [frame + _END]
        holding[-1].keep(frame + _END)
        return []

    def finish(self, index: int) -> list[bytes]:
        """The rest of a text at its end; the JSON Schema check runs on the whole of it."""
        window = self.window(index)
        out = window.flush()
        if self.check_schema is not None and window.released is not None:
            found = self.check_schema("".join(window.released))
            self._hits.extend(found)
            hit = blocking(found)
            if hit is not None:
                raise Blocked(hit, self._hits)
        return out

    def finish_all(self) -> list[bytes]:
        return [frame for index in list(self._windows) for frame in self.finish(index)]

    @abstractmethod
    def frame(self, frame: bytes) -> list[bytes]:
        """Each wire format's own (OpenAI, Anthropic)."""

    @abstractmethod
    def encode(self, event: Any, text: str | None) -> bytes:
        """Each wire format's own (OpenAI, Anthropic)."""

    @abstractmethod
    def error_event(self, blocked: Blocked) -> bytes:
        """Each wire format's own (OpenAI, Anthropic)."""


class _OpenAI(_Relay):
    def frame(self, frame: bytes) -> list[bytes]:
        if not frame.startswith(b"data: {"):
            # [DONE] (or a comment): every text has ended.
            return [*self.finish_all(), frame + _END]
        chunk = orjson.loads(frame[6:])
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if not choices:
            return self.passing(frame)
        if len(choices) == 1:
            return self._choice(frame + _END, chunk, choices[0])
        # Several choices in one chunk: one chunk each, so each waits in its own window.
        out: list[bytes] = []
        for choice in choices:
            out.extend(self._choice(None, {**chunk, "choices": [choice]}, choice))
        return out

    def _choice(self, raw: bytes | None, chunk: Any, choice: Any) -> list[bytes]:
        index = choice.get("index") or 0
        if self.completions:
            content = choice.get("text")
        else:
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
        window = self.window(index)
        if isinstance(content, str):
            out = window.push(raw, chunk, content)
        elif window.holding:
            window.keep(raw if raw is not None else self.encode(chunk, None))
            out = []
        else:
            out = [raw if raw is not None else self.encode(chunk, None)]
        if choice.get("finish_reason") is not None:
            out.extend(self.finish(index))
        return out

    def encode(self, event: Any, text: str | None) -> bytes:
        if text is not None:
            choice = event["choices"][0]
            if self.completions:
                choice["text"] = text
            else:
                choice["delta"]["content"] = text
        return b"data: " + orjson.dumps(event) + _END

    def error_event(self, blocked: Blocked) -> bytes:
        error = {
            "message": str(blocked),
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        }
        return b"data: " + orjson.dumps({"error": error}) + _END


class _Anthropic(_Relay):
    def frame(self, frame: bytes) -> list[bytes]:
        head, _, data = frame.partition(b"data: ")
        if not data or b"content_block_" not in head:
            return self.passing(frame)
        event = orjson.loads(data)
        index = event.get("index") or 0
        if event.get("type") == "content_block_delta":
            delta = event.get("delta") or {}
            text = delta.get("text")
            if delta.get("type") == "text_delta" and isinstance(text, str):
                return self.window(index).push(frame + _END, event, text)
            return self.passing(frame)
        if event.get("type") == "content_block_stop" and index in self._windows:
            return [*self.finish(index), frame + _END]
        return self.passing(frame)

    def encode(self, event: Any, text: str | None) -> bytes:
        if text is not None:
            event["delta"]["text"] = text
        return b"event: content_block_delta\ndata: " + orjson.dumps(event) + _END

    def error_event(self, blocked: Blocked) -> bytes:
        error = {"type": "invalid_request_error", "message": str(blocked)}
        return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": error}) + _END
