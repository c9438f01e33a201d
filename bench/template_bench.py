"""The template stage's cost per request: `.venv/bin/python -m bench.template_bench`.

A 2 KB prompt built from 3 partials with 5 variables, stored in a scratch SQLite
database, applied to requests by `TemplateStage.apply` as the request path does (the
catalog's in-process cache warm, as it is for every request after a prompt's first;
the garbage collector tuned as in a gateway worker).
Reports p50/p99 of per-call time on one thread (CPU-bound: on a quiet machine wall time
is CPU time) and p50/p99 of per-call thread CPU time, which a busy machine's preemption
does not inflate. The bar: p99 ≤ 50 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.template import TemplateStage
from llm_proxy.processes import tune_gc
from llm_proxy.store import prompts
from llm_proxy.store.database import Database
from llm_proxy.store.models import Prompt, PromptVersion, new_id
from llm_proxy.store.signals import Invalidations
from llm_proxy.templates.assignments import Assignments
from llm_proxy.templates.catalog import PromptCatalog

FILLER = "Keep answers short, cite the policy section, and stay polite. " * 8
PARTIALS = {
    "tone": "Tone: {{tone}}. " + FILLER,
    "policy": "Policy for {{company}}: " + FILLER + "{{> tone}}",
    "footer": "Signed, the {{company}} support team. " + FILLER,
}
SYSTEM = "You are the assistant of {{company}}. {{> policy}} {{> footer}} " + FILLER
USER = "Customer {{customer}} (plan {{plan}}) asks: {{question}}"
VARIABLES = {
    "tone": "warm",
    "company": "Acme",
    "customer": "Ann",
    "plan": "pro",
    "question": "Where is my order?",
}


async def seed(database: Database) -> None:
    async with database.session() as session:
        for name, text in PARTIALS.items():
            await _add(session, "partial", name, text)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
        await _add(session, "prompt", "support", messages)
        await session.commit()


async def _add(session: object, kind: str, name: str, template: object) -> None:
    prompt = Prompt(id=new_id("prm"), kind=kind, name=name)
    session.add(prompt)  # type: ignore[attr-defined]
    session.add(PromptVersion(prompt_id=prompt.id, version=1, template=template))  # type: ignore[attr-defined]
    await session.flush()  # type: ignore[attr-defined]
    await prompts.move_label(session, prompt.id, "production", 1, "bench")  # type: ignore[arg-type]


def request() -> RequestContext:
    body = {"model": "m", "messages": [], "prompt_id": "support", "prompt_variables": VARIABLES}
    return RequestContext(request_id="r", api="chat", body=body, headers={})


async def measure(iterations: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", 1)
        await database.upgrade()
        await seed(database)
        catalog = PromptCatalog(database, Invalidations(None, "bench:"))
        stage = TemplateStage(catalog, Assignments(None, "bench:"))
        first = request()
        await stage.apply(first)
        size = sum(len(m["content"]) for m in first.body["messages"])
        for _ in range(1000):  # warm-up
            await stage.apply(request())
        tune_gc()  # as a gateway worker does after start-up
        samples, cpu = [], []
        for _ in range(iterations):
            ctx = request()
            started, cpu_started = time.perf_counter(), time.thread_time()
            await stage.apply(ctx)
            cpu.append(time.thread_time() - cpu_started)
            samples.append(time.perf_counter() - started)
        await database.close()
    return {"rendered_chars": size, **_percentiles("", samples), **_percentiles("cpu_", cpu)}


def _percentiles(prefix: str, samples: list[float]) -> dict[str, float]:
    samples.sort()
    return {
        f"{prefix}p50_us": statistics.median(samples) * 1e6,
        f"{prefix}p99_us": samples[int(len(samples) * 0.99)] * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20000)
    result = asyncio.run(measure(parser.parse_args().iterations))
    print(
        f"template stage, {result['rendered_chars']:.0f} chars rendered from 3 partials and "
        f"5 variables: p50 {result['p50_us']:.1f} µs, p99 {result['p99_us']:.1f} µs; "
        f"CPU p50 {result['cpu_p50_us']:.1f} µs, p99 {result['cpu_p99_us']:.1f} µs "
        "per request (bar: p99 ≤ 50 µs)"
    )


if __name__ == "__main__":
    main()
