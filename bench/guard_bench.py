"""The guard's cost: the request stage on a 4 KB prompt, and what it adds to each streamed chunk.

Request stage (in process): every check on (PII of every entity, secrets, a 200-word deny-list,
RE2 rules, invisible Unicode, the injection score, character and token caps), run by the same
code the gateway runs (`guard.inbound.screen_request`) on a 4 KB support-ticket prompt with a
handful of personal data, and on 4 KB of prose without any. The figure is the calling thread's
CPU time per request (`time.thread_time_ns`), so other load on the machine does not count; the
bar is p99 ≤ 1 ms. Wall time per call is reported beside it, and the fastest call (`min_ms`)
as the floor a quiet machine approaches: on a shared one thread time still swells with the
cores' contention.

A catastrophic regex rule, `(a+)+$`, on 10-80 KB of `a`s ending in `!`: CPU per KB, which a
linear scan keeps flat as the text doubles (a backtracking engine would not finish).

Streaming, measured two ways, both as CPU time (never wall time):
- the stream path in process: the transport's own relay (`openai_stream`: SSE framing,
  decoding, usage) over an upstream body, drained with and without the guard's response
  stage on top (PII, secrets, a 200-word deny-list, invisible Unicode), in alternating
  repeats on one thread (`time.thread_time_ns`). The difference is what the guard adds to
  a chunk: its own relay, and the transport gathering its frames with their decoding
  (`Stream.gather_s`). Measured with one frame per read (`a_frame_a_read`: a stream at a
  model's pace) and with `SATURATED_FRAMES_PER_READ` (`saturated_reads`: a saturated
  gateway's reads carry dozens of frames each, which makes the unguarded relay cheaper per
  chunk, one write per read, and leaves the guard's per-frame work as the difference; each
  read is then one of the guard's batches, as a saturated gateway's 20 ms bring about as
  many frames: in process the whole stream would come within 20 ms, one batch).
- end to end: two gateways (one without guardrails, one with those response-stage
  policies) in front of one simulator that streams at a realistic pace (each token its own
  write, the gateway far from saturated), driven with the same streamed requests in
  alternating rounds; each gateway process's own CPU (user + system, from /proc) per
  streamed chunk. `--saturated` streams at 2,000 tokens a second, 4 at once, instead, and
  more requests a round: /proc counts CPU in clock ticks (10 ms), and a round's figure is
  only as fine as one tick over its chunks (`tick_us_per_chunk`, reported).
The bar is the guard adds <= 5 % CPU per chunk. Two verdicts, both reported: in process
(`in_process_share`: the in-process difference, reads as `--saturated` makes them or one
frame each, over the unguarded gateway's whole CPU per chunk end to end) and end to end
(`e2e_share`: the median of each round's guarded over unguarded figure, the two taken back
to back under the same load). The end-to-end one is the honest figure: it counts what the
in-process path does not (the gateway's other work per chunk, memory, the event loop).

    .venv/bin/python -m bench.guard_bench [--iterations 3000] [--requests N] [--rounds 5]
        [--saturated]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import phonenumbers
import yaml
from llm_proxy.config.guardrails import Guardrails
from llm_proxy.guard.inbound import screen_request
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Policies
from llm_proxy.guard.stream import guarded
from llm_proxy.pipeline.tokens import estimate_prompt_tokens
from llm_proxy.upstream.transports.base import Stream
from llm_proxy.upstream.transports.streams import anthropic_stream, openai_stream, responses_stream
from stdnum import iban, luhn

from bench import configs, loadgen
from bench.processes import Server, cpu_count, free_port, start, wait_ready
from bench.servers import GATEWAY_KEY

REQUEST_BAR_MS = 1.0
STREAM_BAR = 0.05
# Long answers, paced as a fast model streams (each token its own write, which the gateway
# reads and relays on its own), per-request costs spread thin: the figure is per chunk.
STREAM_PROFILE = {"latency_ms": 0, "ttft_ms": 0, "tokens_per_second": 200, "output_tokens": 128}
# Streams at once: 8 x 200 tokens a second keeps the gateway's core well under half busy.
STREAM_CONCURRENCY = 8
# `--saturated`: as fast as the gateway can read, 4 streams at once.
SATURATED = ({**STREAM_PROFILE, "tokens_per_second": 2000}, 4)
# How many frames a saturated gateway's reads carry, about (a CPU-time profile of one).
SATURATED_FRAMES_PER_READ = 35
# `--saturated`'s requests a round unless told: 640 x 128 chunks make a tick 0.12 us a chunk.
SATURATED_REQUESTS = 640

_DENY = [f"codename-{i:03d}" for i in range(190)] + [
    "project falcon", "operation nightjar", "blue harbor", "acme merger", "q3 layoffs",
    "internal only", "do not distribute", "confidential draft", "board minutes", "red team",
]  # fmt: skip
_RULES = [
    {"name": "ticket_code", "pattern": r"PRJ-\d{4}-[A-Z]{3}"},
    {"name": "hostname", "pattern": r"\b[a-z0-9-]+\.internal\.corp\b"},
    {"name": "a_run", "pattern": r"(a+)+$"},
    {"name": "employee_id", "pattern": r"\bEMP\d{6}\b"},
]
CHECKS: dict[str, Any] = {
    "pii": {"action": "redact", "restore": True},
    "secrets": {"action": "redact"},
    "deny_list": {"words": _DENY, "action": "alert"},
    "regex": {"rules": _RULES, "action": "alert"},
    "unicode": {"action": "redact"},
    "injection": {"threshold": 0.5, "action": "alert"},
    "caps": {"max_chars": 200_000, "max_tokens": 100_000, "action": "block"},
}
RESPONSE_CHECKS: dict[str, Any] = {
    "pii": {"action": "redact"},
    "secrets": {"action": "redact"},
    "deny_list": {"words": _DENY, "action": "block"},
    "unicode": {"action": "redact"},
}

_TICKET = """Subject: Refund for order ORD-2024-118842 (charged twice)

Hi team, customer Jane Doe ({email}, {phone}) wrote in on 2024-03-15 at 14:22 UTC.
She was charged twice for order ORD-2024-118842; the second charge went to card {card}.
She asks for the refund to go to her account {iban} instead. Our logs show the duplicate
came from the retry worker on {ip} after a timeout from the payments API (v2.14.3, build
20240315.1). Request id 7f3c9a2e-4b1d-4e8a-9c6f-2a1b3c4d5e6f, trace
4bf92f3577b34da6a3ce929d0e0e4736.

Steps so far:
1. Confirmed both charges in the ledger (amounts 129.99 EUR each, 2024-03-15 14:21:07 and
   14:21:39).
2. Checked the idempotency key; it was regenerated on retry, which is the bug.
3. Opened PRJ-2024-PAY to fix the retry worker.

Log excerpt:
2024-03-15T14:21:07.118Z INFO  payments.charge order=ORD-2024-118842 amount=129.99 status=ok
2024-03-15T14:21:37.502Z WARN  retry.worker attempt=2 reason=timeout upstream=payments-api
2024-03-15T14:21:39.004Z INFO  payments.charge order=ORD-2024-118842 amount=129.99 status=ok
2024-03-15T14:21:39.010Z ERROR ledger.reconcile duplicate=true sha=9f86d081884c7d659a2feaa0

The retry worker, for reference:

    async def charge(order: Order, attempt: int = 1) -> Receipt:
        key = idempotency_key(order) if attempt == 1 else uuid4().hex  # the bug
        try:
            return await payments.post("/v2/charges", json=order.payload(), key=key)
        except Timeout:
            if attempt >= 3:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
            return await charge(order, attempt + 1)

Please draft a polite reply to the customer that explains what happened, confirms the refund
of 129.99 EUR within 5-7 business days, and apologises for the trouble. Keep it under 150
words, no jargon, and do not mention internal ticket numbers or the retry worker by name.
Sign it from the support team. Then list, for the engineering channel, the three changes we
should make so this cannot happen again, one line each, most important first.
"""
_PROSE = (
    "The quarterly planning meeting covered the roadmap for the next two releases, the hiring "
    "plan for the platform team, and the migration of the build system. Everyone agreed that "
    "the documentation needs a thorough review before the public launch, and that the support "
    "rotation should be shared more evenly across the teams. "
)
_AREAS = ("212", "415", "646", "312", "617", "206", "303", "512")


def _values(rng: random.Random) -> dict[str, str]:
    """Personal data for one prompt, different every time (nothing is cached between them)."""
    while True:
        number = f"+1 {rng.choice(_AREAS)} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            break
    card = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
    card += luhn.calc_check_digit(card)
    account = f"{rng.randint(10**17, 10**18 - 1)}"
    number_iban = "DE" + iban.calc_check_digits("DE00" + account) + account
    return {
        "email": f"jane.doe{rng.randint(1, 10**6)}@example.com",
        "phone": number,
        "card": " ".join(card[i : i + 4] for i in range(0, 16, 4)),
        "iban": " ".join(number_iban[i : i + 4] for i in range(0, len(number_iban), 4)),
        "ip": ".".join(str(rng.randint(1, 254)) for _ in range(4)),
    }


def _prompt(text: str, size: int = 4096) -> dict[str, Any]:
    body = (text * (size // len(text) + 1))[:size]
    return {"model": "m", "messages": [{"role": "user", "content": body}]}


def _token_count_ms(body: dict[str, Any]) -> float:
    """What counting the prompt's tokens costs (done once per request, by the limits stage)."""
    estimate_prompt_tokens(body)
    started = time.thread_time_ns()
    for _ in range(50):
        estimate_prompt_tokens(body)
    return round((time.thread_time_ns() - started) / 50 / 1e6, 4)


def _policies(checks: dict[str, Any], stage: str) -> Policies:
    return Policies(
        Guardrails.model_validate({"policies": [{"name": "all", "on": [stage], "checks": checks}]})
    )


def measure_request(iterations: int) -> dict[str, Any]:
    plan = _policies(CHECKS, "request").plan("request", "m", None, None)
    rng = random.Random(15)
    total = iterations + iterations // 10
    prompts = {
        "ticket_4kb": [
            _prompt(_TICKET.format(**_values(rng)) + "\nBackground: " + _PROSE * 8)
            for _ in range(total)
        ],
        "prose_4kb": [_prompt(_PROSE)] * total,
    }
    result: dict[str, Any] = {
        "bar_ms": REQUEST_BAR_MS,
        "iterations": iterations,
        "token_count_ms": _token_count_ms(prompts["ticket_4kb"][0]),
    }
    for name, bodies in prompts.items():
        samples: list[int] = []
        walls: list[int] = []
        hits: list[Any] = []
        for index, body in enumerate(bodies):
            work = copy.deepcopy(body)
            # The limits stage has counted the prompt's tokens by the time the guard runs
            # (one count per request, `ctx.reservation`): the caps check reads that count.
            tokens = estimate_prompt_tokens(work)
            wall = time.perf_counter_ns()
            started = time.thread_time_ns()
            hits = screen_request(plan, Redactor(), "chat", work, lambda t=tokens: t)
            spent = time.thread_time_ns() - started
            wall = time.perf_counter_ns() - wall
            if index >= iterations // 10:  # the first tenth warms caches up
                samples.append(spent)
                walls.append(wall)
        samples.sort()
        walls.sort()
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        result[name] = {
            "bytes": len(body["messages"][0]["content"].encode()),
            "p50_ms": round(p50 / 1e6, 4),
            "p99_ms": round(p99 / 1e6, 4),
            "mean_ms": round(statistics.fmean(samples) / 1e6, 4),
            "min_ms": round(samples[0] / 1e6, 4),
            "wall_p50_ms": round(walls[len(walls) // 2] / 1e6, 4),
            "wall_p99_ms": round(walls[int(len(walls) * 0.99)] / 1e6, 4),
            "within_bar": p99 / 1e6 <= REQUEST_BAR_MS,
            "hits": sorted(f"{h.check}.{h.entity}={h.action}:{h.count}" for h in hits),
        }
    return result


def measure_regex(
    sizes: tuple[int, ...] = (10_000, 20_000, 40_000, 80_000, 160_000),
) -> dict[str, Any]:
    """A catastrophic rule, `(a+)+$`, through the request stage on runs of `a`s that end in
    a character that defeats it (the worst case for a backtracking engine): CPU per KB stays
    flat as the text doubles when the scan is linear."""
    rule = {"name": "a_run", "pattern": "(a+)+$"}
    checks = {"regex": {"rules": [rule], "action": "alert"}}
    plan = _policies(checks, "request").plan("request", "m", None, None)
    figures: dict[str, Any] = {}
    # Ending in `!`: nothing matches (a backtracking engine tries every split of the run);
    # after a `b`: the run itself matches, so the rule's own scan runs too.
    for name, text in (("no_match", lambda n: "a" * n + "!"), ("match", lambda n: "b" + "a" * n)):
        for size in sizes:
            body = {"model": "m", "messages": [{"role": "user", "content": text(size)}]}
            samples = []
            for _ in range(30):
                work = copy.deepcopy(body)
                started = time.thread_time_ns()
                screen_request(plan, Redactor(), "chat", work, lambda: 0)
                samples.append(time.thread_time_ns() - started)
            median = statistics.median(samples) / 1e6
            figures[f"{name}_{size // 1000}kb"] = {
                "median_ms": round(median, 4),
                "ms_per_kb": round(median / size * 1000, 5),
            }
    return figures


def _words() -> list[str]:
    return [" " + word for word in (_PROSE * 3).split()[:128]]


def _upstream_frames() -> list[bytes]:
    """What the simulator streams for a 128-token answer, one frame a token, as OpenAI does."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [choice],
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": word}) for word in _words()]
    frames.append(chunk({}, "stop"))
    return [*frames, b"data: [DONE]\n\n"]


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def _anthropic_frames() -> list[bytes]:
    """The same answer as Anthropic streams it (the simulator's events): the message's start,
    its text block's start and a ping, one delta a token, then the block's and message's end."""
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": []}
    message |= {"stop_reason": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    head = [
        _event("message_start", {"message": message}),
        _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        _event("ping", {}),
    ]
    deltas = [
        _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}})
        for word in _words()
    ]
    tail = [
        _event("content_block_stop", {"index": 0}),
        _event(
            "message_delta",
            {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": len(deltas)}},
        ),
        _event("message_stop", {}),
    ]
    return [*head, *deltas, *tail]


def _responses_frames() -> list[bytes]:
    """The same answer as the Responses API streams it (the simulator's events, numbered)."""
    words = _words()
    text = "".join(words)
    response = {"id": "resp_1", "object": "response", "model": "m", "status": "in_progress"}
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress"}
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events = [
        ("response.created", {"response": {**response, "output": []}}),
        ("response.in_progress", {"response": {**response, "output": []}}),
        ("response.output_item.added", {"output_index": 0, "item": {**item, "content": []}}),
        ("response.content_part.added", {**where, "part": part}),
    ]
    events += [
        ("response.output_text.delta", {**where, "delta": word, "logprobs": []}) for word in words
    ]
    done = {**item, "status": "completed", "content": [{**part, "text": text}]}
    usage = {"input_tokens": 10, "output_tokens": len(words), "total_tokens": 10 + len(words)}
    events += [
        ("response.output_text.done", {**where, "text": text, "logprobs": []}),
        ("response.content_part.done", {**where, "part": {**part, "text": text}}),
        ("response.output_item.done", {"output_index": 0, "item": done}),
        (
            "response.completed",
            {"response": {**response, "status": "completed", "output": [done], "usage": usage}},
        ),
    ]
    return [
        _event(kind, {"sequence_number": number, **data})
        for number, (kind, data) in enumerate(events)
    ]


# Each API's upstream frames, its transport's relay, and the frames before its first text.
_APIS: dict[str, tuple[Callable[[], list[bytes]], Callable[[Any], Stream], int]] = {
    "chat": (_upstream_frames, lambda body: openai_stream(body, wants_usage=False), 1),
    "messages": (_anthropic_frames, anthropic_stream, 3),
    "responses": (_responses_frames, responses_stream, 4),
}


def measure_stream_in_process(streams: int, repeats: int = 7) -> dict[str, Any]:
    """The stream path's CPU per chunk with and without the guard, reads of one frame and
    reads as a saturated gateway makes them; for /v1/messages and the Responses API too
    (saturated reads)."""
    return {
        "a_frame_a_read": _stream_in_process(streams, repeats, 1),
        "saturated_reads": _stream_in_process(streams, repeats, SATURATED_FRAMES_PER_READ),
        "saturated_reads_messages": _stream_in_process(
            streams, repeats, SATURATED_FRAMES_PER_READ, "messages"
        ),
        "saturated_reads_responses": _stream_in_process(
            streams, repeats, SATURATED_FRAMES_PER_READ, "responses"
        ),
    }


def _stream_in_process(
    streams: int, repeats: int, per_read: int, api: str = "chat"
) -> dict[str, Any]:
    """CPU per chunk of the stream path (the transport's relay) with and without the guard,
    over an upstream body of `api` whose reads carry `per_read` frames each."""
    plan = _policies(RESPONSE_CHECKS, "response").plan("response", "m", None, None)
    frames_of, relayed, head = _APIS[api]
    upstream = frames_of()
    chunks = len(_words())  # the text chunks
    # The first read is what comes before the first token, alone, as it comes on its own.
    reads = [b"".join(upstream[:head])] + [
        b"".join(upstream[i : i + per_read]) for i in range(head, len(upstream), per_read)
    ]

    async def body() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    async def drain(guard: bool) -> None:
        stream = relayed(body())
        events = stream.events
        if guard:
            events = guarded(events, api, plan, Redactor(), [], {}, stream)
            if per_read > 1:
                # Each read its own batch, as the gateway's are when saturated (a batch is
                # what 20 ms bring: 40 frames at 2,000 tokens a second), not the whole
                # stream in one (in process every read is within 20 ms of the last).
                stream.gather_s = 0.0
        async for _ in events:
            pass

    async def run(guard: bool) -> float:
        started = time.thread_time_ns()
        for _ in range(streams):
            await drain(guard)
        return (time.thread_time_ns() - started) / streams / chunks / 1000

    async def rounds() -> dict[bool, list[float]]:
        figures: dict[bool, list[float]] = {False: [], True: []}
        await run(False), await run(True)  # warm-up
        for _ in range(repeats):
            for guard in (False, True):
                figures[guard].append(await run(guard))
        return figures

    figures = asyncio.run(rounds())
    off, on = statistics.median(figures[False]), statistics.median(figures[True])
    return {
        "api": api,
        "streams": streams,
        "repeats": repeats,
        "frames_per_read": per_read,
        "chunks_per_stream": chunks,
        "path_cpu_us_per_chunk": {"off": round(off, 3), "on": round(on, 3)},
        "added_us_per_chunk": round(on - off, 3),
    }


def _gateway(
    work: Path, name: str, simulator: loadgen.Target, guardrails: dict[str, Any]
) -> tuple[Server, loadgen.Target]:
    directory = work / name
    directory.mkdir()
    port = free_port()
    base = simulator.url.removesuffix("/chat/completions")
    config = {
        "gateway": {"listen": {"host": "127.0.0.1", "port": port}},
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "spend": {"spool_dir": str(directory / "spool")},
        "backends": [
            {"name": "sim-a", "provider": "simulator", "endpoint": base, "model": configs.MODEL}
        ],
        "observability": {"tracing": False, "metrics": True, "request_log": False},
        "guardrails": guardrails,
    }
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path)]
    env: dict[str, str | None] = {
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PROMETHEUS_MULTIPROC_DIR": None,
    }
    server = start(name, argv, cores={0}, log_dir=directory, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/ready", timeout_s=180)
    return server, loadgen.Target(name, f"{url}/v1/chat/completions", GATEWAY_KEY)


def _simulator(
    work: Path, cores: set[int], profile: dict[str, Any]
) -> tuple[Server, loadgen.Target]:
    path = work / "simulator.yaml"
    path.write_text(yaml.safe_dump({"name": "guard-bench", "default": profile}))
    port = free_port()
    argv = [sys.executable, "-m", "llm_proxy.simulator", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--config", str(path)]
    server = start("simulator", argv, cores=cores, log_dir=work)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/health", timeout_s=60)
    return server, loadgen.Target("direct", f"{base}/v1/chat/completions", "x")


def _cpu_us_per_chunk(
    server: Server, target: loadgen.Target, requests: int, concurrency: int, chunks: int
) -> float:
    """The server's CPU per streamed chunk over `requests` streams of `chunks` chunks."""
    before = server.cpu_seconds()
    sample = asyncio.run(
        loadgen.drive(
            target,
            stream=True,
            concurrency=concurrency,
            duration_s=600,
            max_requests=requests,
        )
    )
    if sample.errors:
        raise RuntimeError(f"{target.name}: {sample.errors} errors, e.g. {sample.error_examples}")
    return (server.cpu_seconds() - before) * 1e6 / (sample.requests * chunks)


def measure_stream(
    requests: int,
    rounds: int,
    profile: dict[str, Any] = STREAM_PROFILE,
    concurrency: int = STREAM_CONCURRENCY,
) -> dict[str, Any]:
    guarded = {"policies": [{"name": "out", "on": ["response"], "checks": RESPONSE_CHECKS}]}
    chunks = profile["output_tokens"]
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as tmp:
        work = Path(tmp)
        simulator, direct = _simulator(work, {1} if cpu_count() > 1 else {0}, profile)
        servers = {
            "off": _gateway(work, "off", direct, {}),
            "on": _gateway(work, "on", direct, guarded),
        }
        try:
            for server, target in servers.values():
                _cpu_us_per_chunk(server, target, min(100, requests), concurrency, chunks)
            figures: dict[str, list[float]] = {mode: [] for mode in servers}
            for _ in range(rounds):
                for mode, (server, target) in servers.items():
                    figures[mode].append(
                        _cpu_us_per_chunk(server, target, requests, concurrency, chunks)
                    )
        finally:
            for server, _ in servers.values():
                server.stop()
            simulator.stop()
    off, on = statistics.median(figures["off"]), statistics.median(figures["on"])
    # Each round's two figures are taken back to back, under the same load: their ratio
    # moves less with the machine than either figure does.
    paired = statistics.median(
        b / a - 1 for a, b in zip(figures["off"], figures["on"], strict=True)
    )
    return {
        "requests_per_round": requests,
        "rounds": rounds,
        "concurrency": concurrency,
        "profile": profile,
        "chunks_per_request": chunks,
        "tick_us_per_chunk": round(1e6 / os.sysconf("SC_CLK_TCK") / (requests * chunks), 3),
        "cpu_us_per_chunk": {m: [round(v, 2) for v in values] for m, values in figures.items()},
        "off_median_us": round(off, 2),
        "on_median_us": round(on, 2),
        "e2e_added_share": round((on - off) / off, 4),
        "e2e_added_share_paired": round(paired, 4),
    }


def verdict(in_process: dict[str, Any], end_to_end: dict[str, Any]) -> dict[str, Any]:
    """What the guard adds to a chunk, over what the unguarded gateway spends on one: the
    in-process difference and the end-to-end rounds' (paired)."""
    share = in_process["added_us_per_chunk"] / end_to_end["off_median_us"]
    e2e = end_to_end["e2e_added_share_paired"]
    return {
        "bar": STREAM_BAR,
        "in_process_reads": in_process["frames_per_read"],
        "in_process_share": round(share, 4),
        "in_process_within_bar": share <= STREAM_BAR,
        "e2e_share": e2e,
        "e2e_within_bar": e2e <= STREAM_BAR,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--requests", type=int, help="a round's (160; --saturated 640)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--saturated", action="store_true", help="stream as fast as it can")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "request_stage": measure_request(args.iterations),
        "regex_linear": measure_regex(),
        "stream_in_process": measure_stream_in_process(100),
    }
    if not args.skip_stream:
        profile, concurrency = SATURATED if args.saturated else (STREAM_PROFILE, STREAM_CONCURRENCY)
        requests = args.requests or (SATURATED_REQUESTS if args.saturated else 160)
        result["streaming"] = measure_stream(requests, args.rounds, profile, concurrency)
        reads = "saturated_reads" if args.saturated else "a_frame_a_read"
        result["stream_bar"] = verdict(result["stream_in_process"][reads], result["streaming"])
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
