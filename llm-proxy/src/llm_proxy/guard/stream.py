"""The response stage for a streamed answer: a sliding window across chunk boundaries.

Each streamed text (a chat choice, a Messages content block) is released to the client only
once nothing in it can still turn into a finding: the last `window` characters are held back,
and so is anything a finding or a restorable placeholder still covers at the cut (a card
number split over two chunks is seen whole before a digit of it leaves), and an unfinished
private-key block. Released text is redacted in place and its placeholders restored; a block
ends the stream with an error event, and what it found never reaches the client. The rest of
each frame is passed on as it came; a frame is re-encoded only when its text is held or changed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from llm_proxy.guard import secrets
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.outbound import schema_hits
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan

# Scanning waits until this many characters past the window have come: fewer, longer scans.
_STEP = 32
# An unfinished private-key block is held back up to this much, then released redacted whole.
_MAX_HOLD = 16384
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_\d+\]")


class Window:
    """One streamed text, released in safe pieces."""

    __slots__ = ("_hits", "_hold", "_pending", "_plan", "_redactor", "released")

    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit]) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._hold = plan.window
        self._pending = ""
        # Everything released, kept only when the answer's JSON must be checked at the end.
        self.released: list[str] | None = None

    def push(self, delta: str) -> str:
        self._pending += delta
        if len(self._pending) < self._hold + _STEP:
            return ""
        return self._release(final=False)

    def flush(self) -> str:
        return self._release(final=True) if self._pending else ""

    def _release(self, final: bool) -> str:
        pending = self._pending
        findings = self._plan.screen.scan(pending)
        blocked = [f for f in findings if f.detector.action == "block"]
        if blocked:
            self._hits.extend(tally("response", blocked))
            hit = blocking(self._hits)
            assert hit is not None
            raise Blocked(hit, self._hits)
        cut = len(pending) if final else self._cut(pending, findings)
        released = [f for f in findings if f.end <= cut]
        if released:
            self._hits.extend(tally("response", released))
        out = self._redactor.restore(
            self._redactor.redact(pending[:cut], released, restorable=False)
        )
        self._pending = pending[cut:]
        if self.released is not None:
            self.released.append(out)
        return out

    def _cut(self, pending: str, findings: list[Any]) -> int:
        cut = len(pending) - self._hold
        # At a space when there is one: what follows a word cannot reach back into it.
        space = pending.rfind(" ", 0, cut)
        if space > 0:
            cut = space
        # A finding that reaches the cut may still grow: it waits, whole, for the next scan.
        for finding in reversed(findings):
            if finding.start < cut <= finding.end:
                cut = finding.start
        if self._redactor.restores:
            for match in _PLACEHOLDER.finditer(pending, max(0, cut - 64), cut + 64):
                if match.start() < cut < match.end():
                    cut = match.start()
        opened = secrets.OPEN_BLOCK.search(pending.encode()) if "-----BEGIN" in pending else None
        if opened is not None and len(pending) < _MAX_HOLD:
            start = len(pending.encode()[: opened.start()].decode(errors="ignore"))
            if not any(f.start <= start < f.end for f in findings):
                cut = min(cut, start)
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
    relay = _Anthropic(plan, redactor, hits) if api == "messages" else _OpenAI(plan, redactor, hits)
    if plan.json_schema is not None and api == "chat":
        relay.check_schema = lambda text: schema_hits(plan, text, request)
    return _run(events, relay)


async def _run(events: AsyncIterator[bytes], relay: _Relay) -> AsyncIterator[bytes]:
    try:
        async for piece in events:
            out: list[bytes] = []
            try:
                for frame in piece.split(b"\n\n"):
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


class _Relay:
    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit]) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._windows: dict[int, Window] = {}
        self.check_schema: Callable[[str], list[Hit]] | None = None

    def window(self, index: int) -> Window:
        window = self._windows.get(index)
        if window is None:
            window = Window(self._plan, self._redactor, self._hits)
            if self.check_schema is not None:
                window.released = []
            self._windows[index] = window
        return window

    def finish(self, index: int) -> str:
        """The rest of a text at its end; the JSON Schema check runs on the whole of it."""
        window = self.window(index)
        rest = window.flush()
        if self.check_schema is not None and window.released is not None:
            found = self.check_schema("".join(window.released))
            self._hits.extend(found)
            hit = blocking(found)
            if hit is not None:
                raise Blocked(hit, self._hits)
        return rest

    def frame(self, frame: bytes) -> list[bytes]:
        raise NotImplementedError

    def error_event(self, blocked: Blocked) -> bytes:
        raise NotImplementedError


class _OpenAI(_Relay):
    def frame(self, frame: bytes) -> list[bytes]:
        if not frame.startswith(b"data: ") or frame == b"data: [DONE]":
            return [frame + b"\n\n"]
        chunk = orjson.loads(frame[6:])
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if not choices:
            return [frame + b"\n\n"]
        for choice in choices:
            index = choice.get("index") or 0
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice["delta"] = {}
            content = delta.get("content")
            if isinstance(content, str):
                delta["content"] = self.window(index).push(content)
            if choice.get("finish_reason") is not None:
                rest = self.finish(index)
                if rest:
                    delta["content"] = (delta.get("content") or "") + rest
        return [b"data: " + orjson.dumps(chunk) + b"\n\n"]

    def error_event(self, blocked: Blocked) -> bytes:
        error = {
            "message": str(blocked),
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        }
        return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


class _Anthropic(_Relay):
    def frame(self, frame: bytes) -> list[bytes]:
        head, _, data = frame.partition(b"data: ")
        if not data or b"content_block_" not in head:
            return [frame + b"\n\n"]
        event = orjson.loads(data)
        index = event.get("index") or 0
        if event.get("type") == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") != "text_delta" or not isinstance(delta.get("text"), str):
                return [frame + b"\n\n"]
            delta["text"] = self.window(index).push(delta["text"])
            return [head + b"data: " + orjson.dumps(event) + b"\n\n"]
        if event.get("type") == "content_block_stop" and index in self._windows:
            rest = self.finish(index)
            if rest:
                delta_event = {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": rest},
                }
                flushed = b"event: content_block_delta\ndata: " + orjson.dumps(delta_event)
                return [flushed + b"\n\n", frame + b"\n\n"]
        return [frame + b"\n\n"]

    def error_event(self, blocked: Blocked) -> bytes:
        error = {"type": "invalid_request_error", "message": str(blocked)}
        return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": error}) + b"\n\n"
