"""The response stage for a streamed answer: a sliding window across chunk boundaries.

Each streamed text (a chat choice, a Messages content block, a Responses output text part)
is released to the client only once nothing in it can still turn into a finding: the frames
carrying its last `window` characters are held back, and so is anything a finding or a
restorable placeholder still covers at the cut (a card number split over two chunks is seen
whole before a digit of it leaves), the word the cut falls in, and an unfinished private-key
block. The cut is where a frame ends (frames go out whole), and each scan of the held text
reads the end of the released text first, so what the client gets does not depend on how
the stream was read: piece by piece or all at once, the same text. Held frames go out
as they came, byte for byte, unless what they carry was redacted or restored: then the first
of them carries the new text and the others none. A block ends the stream with an error
event, and what it found never reaches the client. Frames that carry no text keep their
place in the order.

The held text is scanned and released once per batch of pieces: a batch ends when
`_GATHER_S` has passed since the last release (checked as each piece arrives: a slow stream
is read piece by piece and waits for no batch) or the stream ends. The transport makes
such batches itself, its frames beside their decoded payloads (`Frames`, asked for with
`Stream.gather_s`): each of its pieces is a batch, and the guard costs nothing per read.
Most of a batch's frames carry only the next text of the text before them, and the
transport hands over that text as their payload: such a batch is held by joining its texts
(which also finds it to be one) and one pass for where each frame's text ends, all in C.
Pieces from elsewhere (plain bytes: the optimizer's stream) are gathered here, an append
and a clock reading each, taken into their windows a few pieces at a time (`_TAKE`).
Frames are held as bytes and text only.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from itertools import accumulate, chain, compress, count, repeat
from operator import is_not
from typing import Any, TypeGuard, cast

import orjson

from llm_proxy.guard import secrets
from llm_proxy.guard.detectors import Finding
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.outbound import schema_hits
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan
from llm_proxy.upstream.transports import sse
from llm_proxy.upstream.transports.base import Frames, Stream

# Pieces are gathered for this long after a read before the next: a scan and a release cost
# the same few µs (about 10) whatever their length, so a fast stream is read dozens of
# chunks at a time (2,000 tokens a second bring about 7 KB in it), and a piece that comes
# later than this after the last read (a stream at a model's pace, or slower) is read at
# once: no client waits for a batch to fill (what the window holds back comes on top).
_GATHER_S = 0.02
# An unfinished private-key block, or a word (a run without white space), is held back up
# to this much, then released as it is.
_MAX_HOLD = 16384
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_\d+\]")
# Characters of released text a window reads before its held text: what a check looks at
# before a value (`version 1.2.3.4` is no address; a word's start) even after a release cut
# a word in two (frames split words: the cut is where a frame ends).
_CONTEXT = 32
_END = b"\n\n"
# Pieces gathered are taken into their windows this many at a time, before the batch is
# due: what a piece held dies once it is taken, so few payloads are ever alive at once
# (each one alive when the garbage collector runs is walked by it).
_TAKE = 16
_DONE = b"data: [DONE]\n\n"

Encode = Callable[[Any, str | None], bytes]
# Which streamed text a window holds: a choice's or a block's index, or for the Responses
# API an output item's index and its content part's.
Key = int | tuple[int, int]


class Window:
    """One streamed text, released in safe runs of frames.

    The held frames are kept so that holding a run of them and releasing one are list and
    string operations done in C rather than a Python object per frame: `_raws[i]`, frame
    i's bytes as they came (None: to be encoded from its event, kept in `_events` under the
    frame's number in the stream), `_ends[i]`, where its text ends in the whole streamed
    text (a frame without text ends where the one before it does), and `_text`, the held
    frames' text.
    """

    __slots__ = (
        "_base",
        "_context",
        "_encode",
        "_ends",
        "_events",
        "_first",
        "_hits",
        "_hold",
        "_plan",
        "_raws",
        "_redactor",
        "_text",
        "kept",
        "released",
    )

    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit], encode: Encode) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._encode = encode
        self._hold = plan.window
        self._raws: list[bytes | None] = []
        self._ends: list[int] = []
        self._text = ""
        # The payloads of held frames that came without their bytes, by frame number. A
        # frame with its bytes is parsed again only if its text changes (rarely): holding
        # its payload would keep a few dicts alive per frame for the garbage collector.
        self._events: dict[int, Any] = {}
        # The number of the first held frame in the stream.
        self._first = 0
        # Where the held text starts in the whole streamed text.
        self._base = 0
        # The end of the released text (as upstream wrote it), the left context of a scan.
        self._context = ""
        # Everything released as the client got it, and as it may be kept (redacted,
        # nothing restored): recorded only when the relay needs the whole text at the end
        # (the answer's JSON checked, the Responses API's closing events).
        self.released: list[str] | None = None
        self.kept: list[str] | None = None

    @property
    def holding(self) -> bool:
        return bool(self._raws)

    @property
    def end(self) -> int:
        """Where the held text ends in the whole streamed text."""
        return self._base + len(self._text)

    def push(self, raw: bytes | None, event: Any, text: str) -> None:
        """Hold a frame carrying `text`."""
        if raw is None:
            self._events[self._first + len(self._raws)] = event
        self._raws.append(raw)
        self._text += text
        self._ends.append(self.end)

    def extend(self, raws: Sequence[bytes], texts: Sequence[str], text: str) -> None:
        """Hold frames by their bytes, the i-th of them carrying `texts[i]` (`text`: all of
        them, joined)."""
        ends = self._ends
        start = len(ends)
        ends += accumulate(map(len, texts), initial=self.end)
        # The first is where the held text ended before them.
        del ends[start]
        self._raws += raws
        self._text += text

    def release(self) -> list[bytes]:
        """The held frames now safe to send (none while the text is within the window)."""
        return self._release(final=False) if len(self._text) > self._hold else []

    def keep(self, raw: bytes) -> None:
        """A frame without text, behind the held ones: it keeps its place."""
        self._raws.append(raw)
        self._ends.append(self.end)

    def flush(self) -> list[bytes]:
        return self._release(final=True) if self._raws else []

    def _scan(self, text: str) -> list[Finding]:
        """The findings in the held text, read after the end of the released text (clipped
        to the held text: what was released is out)."""
        context = self._context
        if not context:
            return self._plan.screen.scan(text)
        shift = len(context)
        return [
            Finding(found.detector, max(found.start - shift, 0), found.end - shift)
            for found in self._plan.screen.scan(context + text)
            if found.end > shift
        ]

    def _release(self, final: bool) -> list[bytes]:
        text = self._text
        findings = self._scan(text)
        if findings:
            blocked = [f for f in findings if f.detector.action == "block"]
            if blocked:
                self._hits.extend(tally("response", blocked))
                hit = blocking(self._hits)
                assert hit is not None
                raise Blocked(hit, self._hits)
        restores = self._redactor.restores
        ends = self._ends
        count = len(ends) if final else self._safe(text, findings, restores)
        if count == 0:
            return []
        raws = self._raws[:count]
        base = self._base
        released_ends = ends[:count]
        del self._raws[:count], ends[:count]
        first = self._first
        self._first = first + count
        # The payloads kept of the frames released, by their place among them.
        held = self._events
        events = (
            {number - first: held.pop(number) for number in list(held) if number < first + count}
            if held
            else {}
        )
        cut = released_ends[-1] - base
        self._base = base + cut
        self._text = text[cut:]
        region = text[:cut]
        self._context = (self._context + region)[-_CONTEXT:]
        released = [f for f in findings if f.end <= cut] if findings else findings
        if not released and not restores:
            self._record(region, region)
            return self._unchanged(raws, events)
        self._hits.extend(tally("response", released))
        redacted = self._redactor.redact(region, released, restorable=False)
        out = self._redactor.restore(redacted)
        self._record(out, redacted)
        if out == region:
            return self._unchanged(raws, events)
        return self._changed(raws, events, [end - base for end in released_ends], out)

    def _record(self, out: str, kept: str) -> None:
        if self.released is not None:
            self.released.append(out)
        if self.kept is not None:
            self.kept.append(kept)

    def _unchanged(self, raws: list[bytes | None], events: dict[int, Any]) -> list[bytes]:
        """Released frames as they came (the usual case: all of them have their bytes, and
        none has its payload kept)."""
        if not events:
            return cast("list[bytes]", raws)
        encode = self._encode
        return [
            raw if raw is not None else encode(events[index], None)
            for index, raw in enumerate(raws)
        ]

    def _changed(
        self, raws: list[bytes | None], events: dict[int, Any], ends: list[int], text: str
    ) -> list[bytes]:
        """Released frames whose text became `text`: the first with text carries it all."""
        encode = self._encode
        out: list[bytes] = []
        changed = text
        start = 0
        for index, (raw, end) in enumerate(zip(raws, ends, strict=True)):
            if raw is None:
                out.append(encode(events[index], changed))
                changed = ""
            elif start == end:
                # A frame without text (or with none of its own) goes out as it came.
                out.append(raw)
            else:
                out.append(encode(_payload(raw), changed))
                changed = ""
            start = end
        return out

    def _safe(self, text: str, findings: list[Finding], restores: bool) -> int:
        """How many held frames are safe to send: those whose text ends before anything
        that may still grow."""
        cut = len(text) - self._hold
        # Before the word the cut falls in (what follows a word cannot reach back into it),
        # however long the word is (a JWT, a key): the whole of it waits, up to _MAX_HOLD.
        space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut), text.rfind("\t", 0, cut))
        if space >= 0 or len(text) < _MAX_HOLD:
            cut = max(space, 0)
        opened = secrets.OPEN_BLOCK.search(text.encode()) if "-----BEGIN" in text else None
        if opened is not None and len(text) < _MAX_HOLD:
            start = len(text.encode()[: opened.start()].decode(errors="ignore"))
            if not any(f.start <= start < f.end for f in findings):
                cut = min(cut, start)
        ends, base = self._ends, self._base
        while True:
            # Frames go out whole: the cut is where the last frame before it ends, which a
            # finding before the text's cut may straddle (a model's tokens split numbers).
            count = bisect.bisect_right(ends, base + cut)
            moved = cut = ends[count - 1] - base if count else 0
            # A finding or placeholder that reaches the cut may still grow: it waits, whole.
            for finding in reversed(findings):
                if finding.start < cut <= finding.end:
                    cut = finding.start
            if restores:
                for match in _PLACEHOLDER.finditer(text, max(0, cut - 64), cut + 64):
                    if match.start() < cut < match.end():
                        cut = match.start()
            if cut == moved:
                return count


class Transcript:
    """What a guarded stream kept of its texts (redacted, nothing restored), for a look at
    the whole answer once it has ended (the classifier on answers)."""

    __slots__ = ("_relay",)

    def __init__(self) -> None:
        self._relay: _Relay | None = None

    def text(self) -> str:
        """Each streamed text (a choice, a block, an output part) as kept, in order."""
        relay = self._relay
        if relay is None:
            return ""
        kept = ("".join(window.kept or ()) for window in relay.windows())
        return "\n\n".join(text for text in kept if text)


def guarded(
    events: AsyncIterator[bytes],
    api: str,
    plan: Plan,
    redactor: Redactor,
    hits: list[Hit],
    request: dict[str, Any],
    stream: Stream | None = None,
    transcript: Transcript | None = None,
) -> AsyncIterator[bytes]:
    """The client's stream with the response stage applied; `hits` fills as it flows.

    `stream`: the answer these events belong to; a Responses API stream's `final` (what a
    stored response keeps) becomes the response as the guard left it, or None once blocked.
    `transcript`: records the kept text as it is released (off unless asked: it costs).
    """
    if stream is not None:
        # The transport gathers the frames into batches, decoded (`Frames`).
        stream.gather_s = _GATHER_S
    relay: _Relay
    if api == "messages":
        relay = _Anthropic(plan, redactor, hits)
    elif api == "responses":
        relay = _Responses(plan, redactor, hits, stream)
    else:
        relay = _OpenAI(plan, redactor, hits)
    if api == "completions":
        relay.completions = True
    if transcript is not None:
        relay.records = True
        transcript._relay = relay
    if plan.json_schema is not None and api in ("chat", "responses"):
        check = lambda text: schema_hits(plan, api, text, request)  # noqa: E731
        if isinstance(relay, _Responses):
            relay.check_output = check
        else:
            relay.check_schema = check
    return _run(events, relay)


async def _run(events: AsyncIterator[bytes], relay: _Relay) -> AsyncIterator[bytes]:
    # Gathered here rather than in a method: this loop runs once per piece of the stream
    # that is not gathered already, and costs an append, a clock reading and a few
    # comparisons.
    pending: list[bytes] = []
    out: list[bytes] = []
    due = 0.0
    clock = time.monotonic
    take, frames, release = relay.take, relay.frames, relay.release
    try:
        async for piece in events:
            try:
                # The transport's `Frames` come gathered (or are a stream's first piece).
                if piece.__class__ is Frames:
                    if pending:
                        take(pending, out)
                        pending = []
                    frames(piece.raws, piece.payloads, out)
                else:
                    pending.append(piece)
                    now = clock()
                    if now < due and not piece.endswith(_DONE):
                        if len(pending) >= _TAKE:
                            take(pending, out)
                            pending = []
                        continue
                    due = now + _GATHER_S
                    take(pending, out)
                    pending = []
                release(out)
            except Blocked as blocked:
                out.append(relay.error_event(blocked))
                yield b"".join(out)
                return
            if out:
                yield b"".join(out)
                out = []
        try:
            take(pending, out)
            release(out)
        except Blocked as blocked:
            out.append(relay.error_event(blocked))
        if out:
            yield b"".join(out)
    except Exception:
        # The upstream failed mid-stream: what is safe of the gathered text still goes out
        # before its error does.
        with contextlib.suppress(Blocked):
            take(pending, out)
            release(out)
        if out:
            yield b"".join(out)
        raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class _Relay(ABC):
    def __init__(self, plan: Plan, redactor: Redactor, hits: list[Hit]) -> None:
        self._plan = plan
        self._redactor = redactor
        self._hits = hits
        self._windows: dict[Key, Window] = {}
        # Each window records the whole of its text (`Window.released`, `Window.kept`).
        self.records = False
        # Legacy completions stream `choices[].text`, not `choices[].delta.content`.
        self.completions = False
        self.check_schema: Callable[[str], list[Hit]] | None = None
        # The text of a frame whose payload is its text (`Frames`): the text of the last
        # frame before it that carried text.
        self.text_key: Key = 0

    def take(self, pieces: list[bytes], out: list[bytes]) -> None:
        """The pieces' frames read into their windows (frames without text to `out`, or
        behind held ones); nothing is scanned before `release`."""
        for piece in pieces:
            if isinstance(piece, Frames):
                self.frames(piece.raws, piece.payloads, out)
            else:
                raws = _split(piece)
                self.frames(raws, [None] * len(raws), out)

    def release(self, out: list[bytes]) -> None:
        """What is now safe of each text added to `out`."""
        for window in self._windows.values():
            if window.holding:
                out.extend(window.release())

    def windows(self) -> list[Window]:
        return list(self._windows.values())

    def window(self, index: Key) -> Window:
        window = self._windows.get(index)
        if window is None:
            window = Window(self._plan, self._redactor, self._hits, self.encode)
            if self.check_schema is not None or self.records:
                window.released = []
            if self.records:
                window.kept = []
            self._windows[index] = window
        return window

    def passing(self, frame: bytes) -> list[bytes]:
        """A frame without text: out now, or behind the frames still held."""
        holding = [w for w in self._windows.values() if w.holding]
        if not holding:
            return [frame]
        holding[-1].keep(frame)
        return []

    def finish(self, index: Key) -> list[bytes]:
        """The rest of a text at its end; the JSON Schema check runs on the whole of it."""
        window = self.window(index)
        out = window.flush()
        if self.check_schema is not None and window.released is not None:
            self.schema_checked(self.check_schema, "".join(window.released))
        return out

    def schema_checked(self, check: Callable[[str], list[Hit]], text: str) -> None:
        """`text` checked against the schema the request asked for; raises Blocked."""
        found = check(text)
        self._hits.extend(found)
        hit = blocking(found)
        if hit is not None:
            raise Blocked(hit, self._hits)

    def finish_all(self) -> list[bytes]:
        return [frame for index in list(self._windows) for frame in self.finish(index)]

    def frames(self, raws: list[bytes], payloads: list[Any], out: list[bytes]) -> None:
        """Frames and their payloads (None: not decoded) read into their windows.

        Most frames carry the next text of the text the frame before them carried, which
        the transport has read (`Frames`: their payload is that text): each run of them is
        held at once, a batch of nothing else (the usual one) found so by joining their
        texts, and only the others (an OpenAI role, finish or usage chunk, [DONE], a text's
        first delta, the events around a text, undecoded frames) take the general path.
        """
        try:
            text = "".join(payloads)
        except TypeError:
            pass
        else:
            if raws:
                self.window(self.text_key).extend(raws, payloads, text)
            return
        others = list(compress(count(), map(is_not, map(type, payloads), repeat(str))))
        start = 0
        for stop in chain(others, (len(raws),)):
            if stop > start:
                texts = payloads[start:stop]
                self.window(self.text_key).extend(raws[start:stop], texts, "".join(texts))
            if stop < len(raws):
                out.extend(self.frame(raws[stop], payloads[stop]))
            start = stop + 1

    @abstractmethod
    def frame(self, raw: bytes, event: Any) -> list[bytes]:
        """Each wire format's own (OpenAI, Anthropic); `event` is None when not yet parsed."""

    @abstractmethod
    def encode(self, event: Any, text: str | None) -> bytes:
        """Each wire format's own (OpenAI, Anthropic)."""

    @abstractmethod
    def error_event(self, blocked: Blocked) -> bytes:
        """Each wire format's own (OpenAI, Anthropic)."""


def _payload(raw: bytes) -> Any:
    """A frame's JSON payload, parsed again from its bytes."""
    data = sse.data_of(raw.removesuffix(_END))
    return orjson.loads(data) if data is not None else None


def _split(piece: bytes) -> list[bytes]:
    """The frames of a piece the transport did not decode (each with its terminator)."""
    return [frame + _END for frame in piece.split(_END) if frame]


class _OpenAI(_Relay):
    def frame(self, raw: bytes, event: Any) -> list[bytes]:
        if event is None:
            if not raw.startswith(b"data: {"):
                # [DONE] (or a comment): every text has ended.
                return [*self.finish_all(), raw]
            event = orjson.loads(raw[6:])
        chunk = event
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if not choices:
            return self.passing(raw)
        if len(choices) == 1:
            return self._choice(raw, chunk, choices[0])
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
        out: list[bytes] = []
        if isinstance(content, str):
            window.push(raw, chunk, content)
        elif window.holding:
            window.keep(raw if raw is not None else self.encode(chunk, None))
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
        return _openai_refusal(str(blocked))


class _Anthropic(_Relay):
    def frame(self, raw: bytes, event: Any) -> list[bytes]:
        if event is None:
            head, _, data = raw.partition(b"data: ")
            if not data or b"content_block_" not in head:
                return self.passing(raw)
            event = orjson.loads(data)
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            text = delta.get("text")
            if delta.get("type") == "text_delta" and isinstance(text, str):
                self.text_key = event.get("index") or 0
                self.window(self.text_key).push(raw, event, text)
                return []
        elif kind == "content_block_stop" and (event.get("index") or 0) in self._windows:
            return [*self.finish(event.get("index") or 0), raw]
        return self.passing(raw)

    def encode(self, event: Any, text: str | None) -> bytes:
        if text is not None:
            event["delta"]["text"] = text
        return b"event: content_block_delta\ndata: " + orjson.dumps(event) + _END

    def error_event(self, blocked: Blocked) -> bytes:
        return _anthropic_refusal(str(blocked))


# The Responses API's events that end a response, each with the whole response object.
_RESPONSES_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


class _Responses(_Relay):
    """The Responses API: each output text part (an output item's index, a content part's
    index) is a window of its `response.output_text.delta` events. The events that repeat
    a part's text (`response.output_text.done`, `response.content_part.done`,
    `response.output_item.done`, the final response) carry what the client was streamed,
    and the stream's `final`, which a stored response keeps, what was kept: redacted,
    nothing restored."""

    def __init__(
        self, plan: Plan, redactor: Redactor, hits: list[Hit], stream: Stream | None
    ) -> None:
        super().__init__(plan, redactor, hits)
        self.records = True
        self._stream = stream
        # The schema check runs once, on the whole output text at the final event (not
        # per part, as `check_schema` would).
        self.check_output: Callable[[str], list[Hit]] | None = None
        # Each finished part's text: as streamed to the client, and as kept.
        self._parts: dict[Key, tuple[str, str]] = {}
        # The last sequence number read, and the last frame handed in: a frame whose
        # payload is its text (`Frames`) is not read for its number.
        self._sequence = -1
        self._tail: bytes | None = None

    def frames(self, raws: list[bytes], payloads: list[Any], out: list[bytes]) -> None:
        if raws:
            self._tail = raws[-1]
        super().frames(raws, payloads, out)

    def frame(self, raw: bytes, event: Any) -> list[bytes]:
        if event is None:
            data = raw.partition(b"data: ")[2]
            if not data:
                return self.passing(raw)
            event = orjson.loads(data)
        if not isinstance(event, dict):
            return self.passing(raw)
        sequence = event.get("sequence_number")
        if isinstance(sequence, int):
            self._sequence = sequence
        kind = event.get("type")
        if kind == "response.output_text.delta":
            text = event.get("delta")
            if isinstance(text, str):
                self.text_key = _part(event)
                self.window(self.text_key).push(raw, event, text)
                return []
            return self.passing(raw)
        if kind == "response.output_text.done":
            key = _part(event)
            out = self.finish(key) if key in self._windows else []
            event["text"] = self._text(key, event.get("text"))[0]
            return [*out, *self.passing(self.encode(event, None))]
        # A part's text is whole by the events that repeat it: what is held of it goes first.
        if kind == "response.content_part.done":
            part = event.get("part")
            if _is_text(part):
                out = self.finish_all()
                part["text"] = self._text(_part(event), part["text"])[0]
                return [*out, *self.passing(self.encode(event, None))]
        elif kind == "response.output_item.done":
            index = event.get("output_index")
            if isinstance(index, int):
                out = self.finish_all()
                self._item(index, event.get("item"), 0)
                return [*out, *self.passing(self.encode(event, None))]
        elif kind in _RESPONSES_FINAL:
            return [*self.finish_all(), *self.passing(self._final(event))]
        return self.passing(raw)

    def _final(self, event: dict[str, Any]) -> bytes:
        """The final event as the client gets it; the stream's `final` as it may be kept."""
        response = event.get("response")
        if not isinstance(response, dict):
            return self.encode(event, None)
        kept = orjson.loads(orjson.dumps(response))
        output = response.get("output")
        for index, item in enumerate(output if isinstance(output, list) else ()):
            self._item(index, item, 0)
            self._item(index, kept["output"][index], 1)
        if self.check_output is not None:
            # Every output message's text parts together (the SDKs' `output_text`), as the
            # client was streamed them: a failure ends the stream in place of this event.
            self.schema_checked(self.check_output, "".join(_output_text(output)))
        if self._stream is not None:
            self._stream.final = kept
        return self.encode(event, None)

    def _item(self, index: int, item: Any, version: int) -> None:
        """An output message's text parts set to what was streamed (0) or kept (1)."""
        if not isinstance(item, dict) or item.get("type") != "message":
            return
        content = item.get("content")
        for position, part in enumerate(content if isinstance(content, list) else ()):
            if _is_text(part):
                part["text"] = self._text((index, position), part["text"])[version]

    def _text(self, key: Key, upstream: Any) -> tuple[str, str]:
        """A part's text as streamed and as kept: its window's, or, for a part that was not
        streamed, the upstream's text screened whole."""
        known = self._parts.get(key)
        if known is not None:
            return known
        window = self._windows.get(key)
        if window is not None and window.released is not None and window.kept is not None:
            known = "".join(window.released), "".join(window.kept)
        else:
            known = self._screened(upstream if isinstance(upstream, str) else "")
        self._parts[key] = known
        return known

    def _screened(self, text: str) -> tuple[str, str]:
        findings = self._plan.screen.scan(text)
        if findings:
            self._hits.extend(tally("response", findings))
            hit = blocking(self._hits)
            if hit is not None:
                raise Blocked(hit, self._hits)
        kept = self._redactor.redact(text, findings, restorable=False)
        return self._redactor.restore(kept), kept

    def encode(self, event: Any, text: str | None) -> bytes:
        if text is not None:
            event["delta"] = text
        kind = str(event.get("type") or "")
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + _END

    def error_event(self, blocked: Blocked) -> bytes:
        if self._stream is not None:
            # Nothing of a blocked answer is kept.
            self._stream.final = None
        tail = _payload(self._tail) if self._tail is not None else None
        sequence = tail.get("sequence_number") if isinstance(tail, dict) else None
        if isinstance(sequence, int):
            self._sequence = max(self._sequence, sequence)
        self._sequence += 1
        return _responses_refusal(str(blocked), self._sequence)


def _part(event: dict[str, Any]) -> tuple[int, int]:
    """Which output text part an event is about."""
    item, part = event.get("output_index"), event.get("content_index")
    return (item if isinstance(item, int) else 0, part if isinstance(part, int) else 0)


def _output_text(output: Any) -> Iterator[str]:
    """The text parts of a response's output messages, in order."""
    for item in output if isinstance(output, list) else ():
        if isinstance(item, dict) and item.get("type") == "message":
            content = item.get("content")
            yield from (p["text"] for p in (content or ()) if _is_text(p))


def _is_text(part: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(part, dict)
        and part.get("type") == "output_text"
        and isinstance(part.get("text"), str)
    )


def refusal_event(api: str, message: str) -> bytes:
    """The error event (`content_policy_violation`) that ends a stream of `api` the guard
    refused before any of its events went out."""
    if api == "messages":
        return _anthropic_refusal(message)
    if api == "responses":
        return _responses_refusal(message, 0)
    return _openai_refusal(message)


def _openai_refusal(message: str) -> bytes:
    error = {
        "message": message,
        "type": "invalid_request_error",
        "param": None,
        "code": "content_policy_violation",
    }
    return b"data: " + orjson.dumps({"error": error}) + _END


def _anthropic_refusal(message: str) -> bytes:
    error = {"type": "invalid_request_error", "message": message}
    return b"event: error\ndata: " + orjson.dumps({"type": "error", "error": error}) + _END


def _responses_refusal(message: str, sequence: int) -> bytes:
    event = {
        "type": "error",
        "code": "content_policy_violation",
        "message": message,
        "param": None,
        "sequence_number": sequence,
    }
    return b"event: error\ndata: " + orjson.dumps(event) + _END
