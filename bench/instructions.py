"""Instructions a request, counted by callgrind on the whole gateway process.

```sh
.venv/bin/python -m bench.instructions [--target ours|ours-cache] [--stream] [--telemetry]
    [--concurrency 16] [--warmup 300] [--requests 600] [--keep DIR]
```

Seconds of CPU move with whatever else the machine runs, and with the machine itself from
day to day; the count of instructions does not (valgrind runs the same code the same way),
so an A/B of two commits on a shared machine is read here. The simulator runs natively;
only the gateway runs under `valgrind --tool=callgrind`, with counting off until the
warm-up is done (`callgrind_control -i on`), then on for exactly `--requests` requests
(driven by `bench/loadgen.py`), then dumped. Prints instructions a request; `--keep`
leaves the dump for `callgrind_annotate`. `--telemetry`: what `bench.telemetry_overhead`'s
"all on, every request traced" turns on (OTLP tracing to a loopback sink that drops the
spans, metrics, the JSON request log); its export thread and log thread are counted too
(callgrind counts every thread). Valgrind runs a program about 50 times slower:
the defaults take 2-4 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import uvloop

from bench.configs import SLOW_DEADLINES, TELEMETRY_ON
from bench.loadgen import Target, drive
from bench.servers import start_gateway, start_simulator
from bench.telemetry_overhead import SpanSink

_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="gw-instr-") as scratch:
        work = Path(scratch)
        count = measure(work, args)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for dump in work.glob("callgrind.out*"):
                shutil.copy(dump, args.keep / dump.name)
    mode = "stream" if args.stream else "chat"
    mode += " telemetry" if args.telemetry else ""
    each = count / args.requests
    print(f"{args.target} {mode} c={args.concurrency}: {each:,.0f} instructions a request")


def measure(work: Path, args: argparse.Namespace) -> int:
    """Total instructions the gateway spent on `args.requests` requests after the warm-up."""
    cores = set(os.sched_getaffinity(0))
    simulator, direct = start_simulator(work, cores)
    sink = SpanSink() if args.telemetry else None
    try:
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        if args.telemetry:
            # Valgrind runs one thread at a time, and by default hands the turn back to
            # the thread that just gave it up: the event loop kept it, and the log and
            # export threads' work (formatting, encoding) fell outside the count.
            valgrind.append("--fair-sched=yes")
        valgrind.append(f"--callgrind-out-file={work / 'callgrind.out'}")
        cached = args.target == "ours-cache"
        sections, env = _setup(sink)
        gateway, target = start_gateway(
            work,
            direct,
            cores,
            cached=cached,
            sections=sections,
            env=env,
            under=valgrind,
            ready_timeout_s=900,
        )
        try:
            _drive(target, args, args.warmup)
            _control(gateway.pid, "-i", "on")
            _drive(target, args, args.requests)
            _control(gateway.pid, "-d")
            _control(gateway.pid, "-i", "off")
        finally:
            gateway.stop(timeout_s=120)
    finally:
        simulator.stop()
        if sink is not None:
            sink.close()
    # The numbered dump is the one `-d` asked for; the unnumbered one, at exit, counted nothing.
    return sum(_total(dump) for dump in work.glob("callgrind.out.*"))


def _setup(sink: SpanSink | None) -> tuple[dict[str, object], dict[str, str]]:
    """What the gateway's configuration adds (deadlines that valgrind's pace never hits;
    telemetry all on to `sink`, when there is one) and its environment."""
    if sink is None:
        return SLOW_DEADLINES, {}
    # In telemetry_overhead the export posts every 200 ms: about 200 requests' spans at
    # ~1,000 requests/s. Under valgrind 200 ms is a handful of requests, and a post per
    # handful would count a cost the real gateway spreads over hundreds; here a batch's
    # size (2,048 spans, about 200 requests) starts each post instead.
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "OTEL_BSP_SCHEDULE_DELAY": "3600000",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048",
    }
    return {**SLOW_DEADLINES, "observability": TELEMETRY_ON}, env


def _drive(target: Target, args: argparse.Namespace, requests: int) -> None:
    sample = uvloop.run(
        drive(
            target,
            stream=args.stream,
            concurrency=args.concurrency,
            duration_s=3600,
            max_requests=requests,
        )
    )
    if sample.errors or sample.requests != requests:
        raise RuntimeError(f"{sample.requests}/{requests} answered: {sample.error_examples}")


def _control(pid: int, *options: str) -> None:
    subprocess.run(["callgrind_control", *options, str(pid)], check=True, capture_output=True)


def _total(dump: Path) -> int:
    found = _TOTALS.search(dump.read_text(errors="replace"))
    return int(found.group(1)) if found else 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("ours", "ours-cache"), default="ours")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--telemetry", action="store_true")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--keep", type=Path, default=None)
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
