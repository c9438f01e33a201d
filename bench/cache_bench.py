"""The response cache's benchmark: `.venv/bin/python -m bench.cache_bench [--quick]`.

  quality     trap set false-hit rate and variant set hit rate (bench/cache_sets.py), every
              question cached, every variant and trap looked up through ResponseCache
  written     the written variant and trap kinds (cache_sets.written), each pair on its own:
              the base cached, then the other asked; hit rate per kind
  faq         the FAQ/support workload (cache_sets.faq_traffic) in one scope: hit rate
              (exact, semantic) and wrong answers (a hit carrying another intent's answer)
  index       nearest-neighbour lookup + guard at N entries in one scope, embedding excluded
  semantic    a whole semantic lookup (exact miss, embedding, scan, guard, fetch) at N
              entries, by prompt length up to 512 tokens
  embedders   the decision: the in-process token-table embedder, the whole MiniLM in
              process on torch (import time, RSS), and the router-service over loopback
  exact       exact-hit responses end to end through a gateway at concurrency 16 (Redis
              store and in-process store)

Options: --entries N (default 100000), --router-service URL (else one is started if it can
be), --skip-torch, --skip-gateway. Results: bench/results/cache-<time>.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import redis
import uvloop
from llm_proxy.cache import CacheRequest, ResponseCache
from llm_proxy.cache.embedder import RemoteEmbedder, SentenceEmbedder, TokenTableEmbedder
from llm_proxy.cache.guard import agree
from llm_proxy.cache.index import SemanticIndex
from llm_proxy.cache.keys import exact_key, semantic_prompt, semantic_scope
from llm_proxy.cache.reading import fingerprint, read
from llm_proxy.cache.store import Entry, MemoryStore, Semantic
from llm_proxy.config import GatewayConfig
from llm_proxy.pipeline.tokens import count_text
from llm_proxy.processes import tune_gc

from bench import cache_sets
from bench.loadgen import Target, drive
from bench.processes import free_port, start, wait_ready
from bench.stats import percentile

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
MODEL = "gpt-4o-mini"
TEAM = "bench"
LENGTHS = (16, 64, 128, 256, 512)
REDIS_URL = "redis://127.0.0.1:6379/0"
GATEWAY_KEY = "sk-gw-bench-master"
_ALL_CORES = set(os.sched_getaffinity(0))
# --embedder-max-tokens: the in-process encoder's window, when not the configured default.
_SEMANTIC: dict[str, Any] = {"enabled": True}


def _config(**cache: Any) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {
            "backends": [{"name": "b", "provider": "openai", "model": MODEL}],
            "cache": {"enabled": True, "semantic": _SEMANTIC, **cache},
        }
    )


def _request(text: str, config: GatewayConfig) -> CacheRequest:
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    semantic = config.cache.semantic
    prompt = semantic_prompt(TEAM, MODEL, body, semantic.max_temperature)
    return CacheRequest(TEAM, exact_key(TEAM, MODEL, body), prompt, semantic.threshold)


def _answer(index: int) -> bytes:
    message = {"role": "assistant", "content": f"answer {index}"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return json.dumps(
        {"id": f"c{index}", "object": "chat.completion", "choices": [choice]}
    ).encode()


def _ms(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_ms": _round(percentile(values, 50)),
        "p99_ms": _round(percentile(values, 99)),
        "n": len(values),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# -- quality ----------------------------------------------------------------------------


async def quality(quick: bool) -> dict[str, Any]:
    """Cache every question, then ask every variant (must hit its own) and trap (must miss)."""
    config = _config()
    cache = ResponseCache(lambda: config)
    base = cache_sets.questions(100 if quick else 300, 100 if quick else 300)
    answers: dict[bytes, str] = {}
    for index, question in enumerate(base):
        request = _request(question, config)
        await cache.lookup(request)
        cache.store(request, _answer(index), lambda: 0.0)
        answers[_answer(index)] = question
    await asyncio.sleep(0)
    await cache.close()  # waits for the writes
    rng = random.Random(11)
    hits: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    wrong: list[dict[str, str]] = []
    for question in base:
        for case in [*cache_sets.variants(question, rng), *cache_sets.traps(question, rng)]:
            trap = case.kind in ("number", "negation", "options", "entity", "unit")
            found = await cache.lookup(_request(case.text, config))
            asked[case.kind] += 1
            right = found is not None and answers.get(found.body) == case.base
            if (found is not None) if trap else right:
                hits[case.kind] += 1
            if trap and found is not None and len(wrong) < 10:
                wrong.append({"kind": case.kind, "asked": case.text[:200]})
    trap_kinds = [k for k in asked if k in ("number", "negation", "options", "entity", "unit")]
    variant_kinds = [k for k in asked if k not in trap_kinds]
    traps_asked = sum(asked[k] for k in trap_kinds)
    variants_asked = sum(asked[k] for k in variant_kinds)
    return {
        "questions": len(base),
        "trap_false_hit_rate": round(sum(hits[k] for k in trap_kinds) / traps_asked, 5),
        "variant_hit_rate": round(sum(hits[k] for k in variant_kinds) / variants_asked, 5),
        "by_kind": {k: {"asked": asked[k], "hits": hits[k]} for k in sorted(asked)},
        "false_hit_examples": wrong,
    }


# -- the written kinds and the FAQ workload ---------------------------------------------------


def _in_scope(text: str, config: GatewayConfig, scope: str) -> CacheRequest:
    """A request whose conversation starts with `scope`: pairs never see each other."""
    body = {
        "model": MODEL,
        "messages": [{"role": "system", "content": scope}, {"role": "user", "content": text}],
    }
    semantic = config.cache.semantic
    prompt = semantic_prompt(TEAM, MODEL, body, semantic.max_temperature)
    return CacheRequest(TEAM, exact_key(TEAM, MODEL, body), prompt, semantic.threshold)


async def written_quality(per_kind: int) -> dict[str, Any]:
    """Each written pair alone: cache the base, ask the other; variants must hit, traps not."""
    config = _config()
    cache = ResponseCache(lambda: config)
    cases = cache_sets.written(per_kind)
    for number, case in enumerate(cases):
        request = _in_scope(case.base, config, f"pair {number}")
        await cache.lookup(request)
        cache.store(request, _answer(number), lambda: 0.0)
    await asyncio.sleep(0)
    await cache.close()
    asked: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    similarity: dict[str, list[float]] = {}
    examples: dict[str, list[str]] = {}
    for number, case in enumerate(cases):
        found = await cache.lookup(_in_scope(case.text, config, f"pair {number}"))
        asked[case.kind] += 1
        hit = found is not None and found.body == _answer(number)
        hits[case.kind] += hit
        if found is not None and found.similarity is not None:
            similarity.setdefault(case.kind, []).append(found.similarity)
        if hit != case.same and len(examples.setdefault(case.kind, [])) < 5:
            examples[case.kind].append(f"{case.base} | {case.text}")
    variants = sorted(k for k in asked if k in cache_sets.WRITTEN_VARIANTS)
    traps = sorted(k for k in asked if k in cache_sets.WRITTEN_TRAPS)
    return {
        "variants": {k: _rate(hits[k], asked[k], similarity.get(k)) for k in variants},
        "traps": {k: _rate(hits[k], asked[k], similarity.get(k)) for k in traps},
        "variant_hit_rate": round(
            sum(hits[k] for k in variants) / sum(asked[k] for k in variants), 4
        ),
        "trap_false_hit_rate": round(sum(hits[k] for k in traps) / sum(asked[k] for k in traps), 5),
        "wrong_examples": examples,
    }


def _rate(hits: int, asked: int, similarity: list[float] | None) -> dict[str, Any]:
    found = {"asked": asked, "hits": hits, "rate": round(hits / asked, 4)}
    if similarity:
        found["min_similarity_of_hits"] = round(min(similarity), 3)
    return found


async def faq(requests: int) -> dict[str, Any]:
    """The FAQ workload in one scope: a miss stores its intent's answer, a hit is checked."""
    config = _config()
    cache = ResponseCache(lambda: config)
    traffic = cache_sets.faq_traffic(requests)
    intents = {intent: number for number, intent in enumerate(cache_sets.FAQ)}
    exact = semantic = wrong = 0
    wrong_examples: list[str] = []
    asked_by: dict[bytes, str] = {}
    for ask in traffic:
        request = _request(ask.text, config)
        found = await cache.lookup(request)
        if found is None:
            answer = _answer(intents[ask.intent])
            asked_by.setdefault(answer, ask.text)
            cache.store(request, answer, lambda: 0.0)
            await asyncio.sleep(0)  # let the write land before the next question
            continue
        if found.similarity is None:
            exact += 1
        else:
            semantic += 1
        if found.body != _answer(intents[ask.intent]):
            wrong += 1
            if len(wrong_examples) < 10:
                wrong_examples.append(f"{ask.text} | served the answer to: {asked_by[found.body]}")
    await cache.close()
    return {
        "requests": requests,
        "intents": len(cache_sets.FAQ),
        "phrasings": sum(len(p) for p in cache_sets.FAQ.values()),
        "hit_rate": round((exact + semantic) / requests, 4),
        "exact_hit_rate": round(exact / requests, 4),
        "semantic_hit_rate": round(semantic / requests, 4),
        "wrong_answers": wrong,
        "wrong_examples": wrong_examples,
    }


# -- index and whole semantic lookups at N entries --------------------------------------


def _corpus(entries: int, embedder: SentenceEmbedder, encoded: int) -> tuple[list[str], np.ndarray]:
    """`entries` distinct prompts: real questions, then numbered copies of them.

    The encoder needs ~50-200 ms a prompt on these machines, too slow for 100k of them: the
    first `encoded` are encoded, every later copy takes its original's vector plus noise
    (cosine ~0.9 to it), so each lookup finds a crowd of candidates above the threshold: the
    index's worst case, not its usual one.
    """
    base = cache_sets.questions(1319, 14042)
    texts = [
        base[i % len(base)] + ("" if i < len(base) else f" (case {i})") for i in range(entries)
    ]
    real = np.stack([embedder.embed_now(text) for text in texts[:encoded]])
    rng = np.random.default_rng(1)
    copies = real[np.arange(entries) % encoded]
    noise = rng.standard_normal(copies.shape).astype(np.float32) * 0.025
    noise[:encoded] = 0
    vectors = copies + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors


async def at_scale(entries: int, encoded: int) -> dict[str, Any]:
    config = _config()
    embedder = SentenceEmbedder(config.cache.semantic.embedder_max_tokens)
    started = time.perf_counter()
    texts, vectors = _corpus(entries, embedder, encoded)
    build_s = time.perf_counter() - started
    index = SemanticIndex(vectors.shape[1])
    store = MemoryStore(index)
    scope = ""
    created = time.time()
    for i, text in enumerate(texts):
        request = _request(text, config)
        assert request.prompt is not None
        scope = semantic_scope(request.prompt, embedder.name)
        semantic = Semantic(scope, vectors[i], fingerprint(read(text)))
        entry = Entry(request.id, TEAM, _answer(i), created, 0.0, semantic)
        await store.put(entry, _bounds(entries))
    # As a gateway worker does after start-up: what is held by then is left out of the
    # collector's walks, and young collections are rarer. Without it a full collection over
    # the 100k entries (~200 ms) and young ones of 5-60 ms fell among the probes.
    tune_gc()
    rng = random.Random(5)
    probes = [rng.randrange(entries) for _ in range(2000)]
    scan: list[float] = []
    for i in probes:
        query = vectors[i]
        tick = time.perf_counter()
        asked = read(texts[i].upper())
        candidates = index.nearest(scope, query, config.cache.semantic.threshold)
        any(agree(c.fingerprint, asked) for c in candidates)
        scan.append((time.perf_counter() - tick) * 1000)
    cache = ResponseCache(lambda: config, store=store)
    whole: dict[str, Any] = {}
    for length in LENGTHS:
        whole[str(length)] = await _whole_lookups(cache, config, texts, length, rng)
    await cache.close()
    return {
        "entries": len(index),
        "encoded": encoded,
        "encoded_s": round(build_s, 1),
        "read_scan_and_guard_excluding_embedding": _ms(scan),
        "whole_semantic_lookup_by_prompt_tokens": whole,
    }


def _bounds(entries: int) -> Any:
    from llm_proxy.cache.store import Bounds

    return Bounds(ttl_s=3600, max_entries=entries + 1, max_bytes=1 << 40)


async def _whole_lookups(
    cache: ResponseCache, config: GatewayConfig, texts: list[str], tokens: int, rng: random.Random
) -> dict[str, Any]:
    """Exact miss + embedding + scan + guard (+ fetch on a hit), prompts of about `tokens`."""
    timings: list[float] = []
    hits = 0
    for _ in range(100):
        text = _prompt_of(texts, tokens, rng)
        request = _request(text, config)
        tick = time.perf_counter()
        found = await cache.lookup(request)
        timings.append((time.perf_counter() - tick) * 1000)
        hits += found is not None
    return {**_ms(timings), "tokens": tokens, "hits": hits}


def _prompt_of(texts: list[str], tokens: int, rng: random.Random) -> str:
    """Questions strung together until the prompt is `tokens` long (o200k tokens)."""
    parts: list[str] = []
    while count_text(" ".join(parts)) < tokens:
        parts.append(rng.choice(texts))
    words = " ".join(parts).split()
    while count_text(" ".join(words)) > tokens:
        words = words[: max(1, int(len(words) * 0.95))]
    return " ".join(words)


# -- the embedder decision --------------------------------------------------------------


def _probe(kind: str) -> dict[str, Any]:
    """Measure one embedder in a fresh process: load time, RSS it adds, latency by length."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.cache_bench", "--probe", kind],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        timeout=900,
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _probe_main(kind: str) -> None:
    rss_before = _rss_mib()
    tick = time.perf_counter()
    if kind == "token-table":
        table = TokenTableEmbedder()

        def encode(text: str) -> None:
            table.embed_now(text)
    elif kind == "sentence":
        sentence = SentenceEmbedder(_config().cache.semantic.embedder_max_tokens)

        def encode(text: str) -> None:
            sentence.embed_now(text)
    else:
        import torch
        from router_service.embedding import MiniLMEncoder

        encoder = MiniLMEncoder.from_package()
        torch.set_num_threads(max(1, os.cpu_count() or 1))

        def encode(text: str) -> None:
            encoder.encode([text])

    load_s = time.perf_counter() - tick
    encode("warm up")
    rss_added = _rss_mib() - rss_before
    rng = random.Random(3)
    texts = cache_sets.questions(1319, 2000)
    by_length = {}
    for length in LENGTHS:
        timings = []
        for _ in range(300 if kind == "token-table" else 30):
            text = _prompt_of(texts, length, rng)
            tick = time.perf_counter()
            encode(text)
            timings.append((time.perf_counter() - tick) * 1000)
        by_length[str(length)] = _ms(timings)
    print(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "rss_added_mib": round(rss_added, 1),
                "embed_by_prompt_tokens": by_length,
            }
        )
    )


def _rss_mib() -> float:
    """Resident memory now (ru_maxrss would carry the forking parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def remote(url: str) -> dict[str, Any]:
    """The router-service's /v1/embeddings over loopback, by prompt length."""
    embedder = RemoteEmbedder(url, "all-MiniLM-L6-v2", timeout_ms=10_000)
    rng = random.Random(3)
    texts = cache_sets.questions(1319, 2000)
    if await embedder.embed("warm up") is None:
        await embedder.close()
        return {"error": f"no embeddings from {url}"}
    by_length = {}
    for length in LENGTHS:
        timings = []
        for _ in range(30):
            text = _prompt_of(texts, length, rng)
            tick = time.perf_counter()
            await embedder.embed(text)
            timings.append((time.perf_counter() - tick) * 1000)
        by_length[str(length)] = _ms(timings)
    await embedder.close()
    return {"url": url, "embed_by_prompt_tokens": by_length}


def _start_router_service(work: Path) -> tuple[Any, str] | None:
    port = free_port()
    argv = [str(REPO / ".venv" / "bin" / "router-service"), "serve", "--port", str(port)]
    server = start("router-service", argv, cores=_ALL_CORES, log_dir=work)
    try:
        wait_ready(server, f"http://127.0.0.1:{port}/health", timeout_s=300)
    except RuntimeError:
        server.stop()
        return None
    return server, f"http://127.0.0.1:{port}"


# -- exact hits end to end --------------------------------------------------------------


def exact_end_to_end(work: Path, duration_s: float) -> dict[str, Any]:
    simulator_port = free_port()
    sim = start(
        "simulator",
        [sys.executable, "-m", "llm_proxy.simulator", "--port", str(simulator_port)],
        cores=_ALL_CORES,
        log_dir=work,
    )
    results: dict[str, Any] = {}
    prefix = f"gwbench:{uuid.uuid4().hex[:8]}:"
    try:
        wait_ready(sim, f"http://127.0.0.1:{simulator_port}/health", timeout_s=60)
        for store in ("redis", "memory"):
            results[store] = _exact_cell(work, simulator_port, store, prefix, duration_s)
    finally:
        sim.stop()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    return results


def _exact_cell(
    work: Path, simulator_port: int, store: str, prefix: str, duration_s: float
) -> dict[str, Any]:
    import yaml

    port = free_port()
    config: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{work / f'gateway-{store}.db'}"},
        "observability": {"log_level": "warning"},
        "backends": [
            {
                "name": "sim",
                "provider": "simulator",
                "endpoint": f"http://127.0.0.1:{simulator_port}/v1",
                "model": MODEL,
            }
        ],
        "cache": {"enabled": True, "semantic": {"enabled": True}},
    }
    if store == "redis":
        config["redis"] = {"url": REDIS_URL, "prefix": prefix}
    path = work / f"gateway-{store}.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [str(REPO / ".venv" / "bin" / "llm-proxy"), "serve", "--config", str(path)]
    argv += ["--port", str(port)]
    env: dict[str, str | None] = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
    }
    server = start(f"gateway-{store}", argv, cores=_ALL_CORES, log_dir=work, env=env)
    try:
        wait_ready(server, f"http://127.0.0.1:{port}/ready", timeout_s=120)
        target = Target("ours", f"http://127.0.0.1:{port}/v1/chat/completions", GATEWAY_KEY)
        cells = {}
        for stream in (False, True):
            # The first request of the fixed body is the miss that fills the cache.
            asyncio.run(drive(target, stream=stream, concurrency=1, duration_s=5, max_requests=2))
            for concurrency in (1, 16):
                sample = asyncio.run(
                    drive(
                        target,
                        stream=stream,
                        concurrency=concurrency,
                        duration_s=duration_s,
                        max_requests=200_000,
                    )
                )
                cells[f"{'stream' if stream else 'chat'}_c{concurrency}"] = {
                    **_ms(sample.latencies_ms),
                    "gateway_overhead": _ms(sample.reported_overheads_ms),
                    "errors": sample.errors,
                    "rps": round(sample.requests / sample.elapsed_s, 1),
                }
        return cells
    finally:
        server.stop()


# -- the report -------------------------------------------------------------------------


def _markdown(results: dict[str, Any]) -> str:
    lines = [f"# Cache benchmark {results['started']}", "", "```json"]
    lines.append(json.dumps(results, indent=2))
    lines.append("```")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--router-service", default=None)
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-gateway", action="store_true")
    parser.add_argument(
        "--probe", choices=("token-table", "sentence", "torch"), help=argparse.SUPPRESS
    )
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--encoded", type=int, default=1500, help="real vectors at scale")
    parser.add_argument("--faq-requests", type=int, default=2000)
    parser.add_argument("--embedder-max-tokens", type=int, default=None)
    parser.add_argument(
        "--only", default="", help="comma-separated sections: quality,written,faq,scale,..."
    )
    args = parser.parse_args()
    if args.embedder_max_tokens is not None:
        _SEMANTIC["embedder_max_tokens"] = args.embedder_max_tokens
    if args.probe:
        _probe_main(args.probe)
        return
    uvloop.install()
    work = RESULTS / f"cache-work-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y%m%d-%H%M%S")
    results: dict[str, Any] = {"started": started, "machine": {"cpus": os.cpu_count()}}
    results["machine"]["load_average"] = os.getloadavg()
    only = set(filter(None, args.only.split(",")))

    def wanted(section: str) -> bool:
        return not only or section in only

    if wanted("written"):
        results["written"] = asyncio.run(written_quality(args.per_kind))
        print(json.dumps(results["written"], indent=2), flush=True)
    if wanted("faq"):
        results["faq"] = asyncio.run(faq(args.faq_requests))
        print(json.dumps(results["faq"], indent=2), flush=True)
    if wanted("quality"):
        results["quality"] = asyncio.run(quality(args.quick))
        print(json.dumps(results["quality"], indent=2), flush=True)
    if wanted("scale"):
        entries = 20_000 if args.quick else args.entries
        results["at_scale"] = asyncio.run(at_scale(entries, args.encoded))
        print(json.dumps(results["at_scale"], indent=2), flush=True)
    if not wanted("embedders"):
        _save(results, started)
        return
    results["embedders"] = {"token-table": _probe("token-table"), "sentence": _probe("sentence")}
    if not args.skip_torch:
        results["embedders"]["torch-in-process"] = _probe("torch")
    router = None
    url = args.router_service
    if url is None and not args.skip_torch:
        router = _start_router_service(work)
        url = router[1] if router else None
    if url:
        results["embedders"]["router-service"] = asyncio.run(remote(url))
    if router is not None:
        router[0].stop()
    print(json.dumps(results["embedders"], indent=2), flush=True)
    if not args.skip_gateway:
        results["exact_end_to_end"] = exact_end_to_end(work, 5 if args.quick else args.duration)
        print(json.dumps(results["exact_end_to_end"], indent=2), flush=True)
    _save(results, started)


def _save(results: dict[str, Any], started: str) -> None:
    results["machine"]["load_average_after"] = os.getloadavg()
    (RESULTS / f"cache-{started}.json").write_text(json.dumps(results, indent=2))
    (RESULTS / f"cache-{started}.md").write_text(_markdown(results))
    print(f"results: bench/results/cache-{started}.json", flush=True)


if __name__ == "__main__":
    main()
