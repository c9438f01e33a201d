"""From cells to the report: overheads, ours/LiteLLM ratios, the bars, JSON and markdown."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.stats import Cell

# Our targets, each compared with stock LiteLLM: the gateway alone, and with its state services.
OURS = ("ours", "ours-full")
# Compared with the bare forwarder (`floor`): CPU per request and throughput.
OVER_FLOOR = ("ours", "ours-full", "ours-cache")

DEFINITIONS = (
    "Overhead p50 (p99) = a target's p50 (p99) latency minus the p50 (p99) latency of the "
    "simulator called directly (`direct`), same mode and concurrency, same run; TTFT overhead "
    "likewise with time to first token (first SSE chunk with non-empty content). Latency is "
    "measured by the client from writing the request to reading the last body byte. "
    "CPU ms/req = user+system CPU of the server process tree over the measured part of the "
    "cell (/proc/<pid>/stat) divided by requests completed; RSS = VmRSS of the tree at the "
    "end of the cell. Client and simulator CPU % are shares of one core over the cell: near "
    "100 % means the client side, not the server, limited throughput. Other CPU % = busy time of "
    "all cores (/proc/stat) minus the benchmark's processes: other work on the machine "
    "competing with the cell (200 % = both cores). Ratios are ours/LiteLLM (ours-full/LiteLLM), "
    "and ours/floor: a target's CPU ms per request over the bare forwarder's, same cell."
)


def attach_overheads(cells: list[Cell]) -> None:
    """Fill each proxy cell's `overhead` from the direct cell of the same mode and concurrency."""
    direct = {(c.mode, c.concurrency): c for c in cells if c.target == "direct"}
    for cell in cells:
        base = direct.get((cell.mode, cell.concurrency))
        if cell.target == "direct" or base is None:
            continue
        cell.overhead = {
            "p50_ms": _minus(cell.latency_p50_ms, base.latency_p50_ms),
            "p99_ms": _minus(cell.latency_p99_ms, base.latency_p99_ms),
            "ttft_p50_ms": _minus(cell.ttft_p50_ms, base.ttft_p50_ms),
            "ttft_p99_ms": _minus(cell.ttft_p99_ms, base.ttft_p99_ms),
        }


def ratios(cells: list[Cell]) -> list[dict[str, Any]]:
    """Ours over LiteLLM per mode and concurrency: RPS (higher is better), overheads (lower)."""
    theirs = {(c.mode, c.concurrency): c for c in cells if c.target == "litellm"}
    rows = []
    for ours in (c for c in cells if c.target in OURS):
        other = theirs.get((ours.mode, ours.concurrency))
        if other is None:
            continue
        rows.append(
            {
                "target": ours.target,
                "mode": ours.mode,
                "concurrency": ours.concurrency,
                "rps_ours": ours.rps,
                "rps_litellm": other.rps,
                "rps_ratio": _divide(ours.rps, other.rps),
                "overhead_p50_ratio": _divide(ours.overhead["p50_ms"], other.overhead["p50_ms"]),
                "overhead_p99_ratio": _divide(ours.overhead["p99_ms"], other.overhead["p99_ms"]),
            }
        )
    return rows


def floor_ratios(cells: list[Cell]) -> list[dict[str, Any]]:
    """Ours over the bare forwarder per mode and concurrency: CPU per request (lower is
    better) and requests/s."""
    floor = _chat_cells(cells, "floor")
    rows = []
    for ours in (c for c in cells if c.target in OVER_FLOOR):
        base = floor.get((ours.mode, ours.concurrency))
        if base is None:
            continue
        rows.append(
            {
                "target": ours.target,
                "mode": ours.mode,
                "concurrency": ours.concurrency,
                "cpu_ms_ours": ours.server_cpu_ms_per_request,
                "cpu_ms_floor": base.server_cpu_ms_per_request,
                "cpu_ratio": _cpu_ratio(ours, base),
                "rps_ratio": _divide(ours.rps, base.rps),
            }
        )
    return rows


def bars(cells: list[Cell], memory: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The 'Done when' benchmark bars of issues 2 (ours) and 3 (ours-full, with auth, limits
    and the spend log on Postgres and Redis), each with its measured value and verdict."""
    ours, full = _chat_cells(cells, "ours"), _chat_cells(cells, "ours-full")
    their64 = _chat_cells(cells, "litellm").get(("chat", 64))
    chat1, chat64, stream1 = ours.get(("chat", 1)), ours.get(("chat", 64)), ours.get(("stream", 1))
    full1, full64 = full.get(("chat", 1)), full.get(("chat", 64))
    rows = [
        _bar(2, "c=1 overhead p50", "<= 1.5 ms", _overhead(chat1, "p50_ms"), 1.5, upper=True),
        _bar(2, "c=1 overhead p99", "<= 5 ms", _overhead(chat1, "p99_ms"), 5.0, upper=True),
        _bar(2, "c=64 overhead p99", "<= 50 ms", _overhead(chat64, "p99_ms"), 50.0, upper=True),
        _bar(2, "c=64 throughput vs LiteLLM", ">= 5x", _rps_ratio(chat64, their64), 5.0),
        _bar(
            2,
            "stream TTFT overhead p50 (c=1)",
            "<= 2 ms",
            _overhead(stream1, "ttft_p50_ms"),
            2.0,
            upper=True,
        ),
    ]
    rss = memory["rss_end_mib"] if memory else None
    requests = memory["requests"] if memory else 0
    rows.append(_bar(2, f"RSS after {requests} requests", "<= 250 MiB", rss, 250.0, upper=True))
    rows += [
        _bar(
            3, "ours-full c=1 overhead p50", "<= 2 ms", _overhead(full1, "p50_ms"), 2.0, upper=True
        ),
        _bar(
            3, "ours-full c=1 overhead p99", "<= 6 ms", _overhead(full1, "p99_ms"), 6.0, upper=True
        ),
        _bar(3, "ours-full c=64 throughput vs LiteLLM", ">= 4x", _rps_ratio(full64, their64), 4.0),
    ]
    floor = _chat_cells(cells, "floor")
    floor16, floor64 = floor.get(("chat", 16)), floor.get(("chat", 64))
    hit16 = _chat_cells(cells, "ours-cache").get(("chat", 16))
    hit16_p99 = hit16.latency_p99_ms if hit16 else None
    rows += [
        _bar(10, "ours CPU/req c=64 vs floor", "<= 2.0x", _cpu_ratio(chat64, floor64), 2.0,
             upper=True),
        _bar(10, "ours-full CPU/req c=64 vs floor", "<= 3.0x", _cpu_ratio(full64, floor64), 3.0,
             upper=True),
        _bar(10, "exact cache hits c=16 req/s vs floor", ">= 1.0x", _rps_ratio(hit16, floor16),
             1.0),
        _bar(10, "exact cache hits c=16 p99", "<= 3 ms", hit16_p99, 3.0, upper=True),
    ]  # fmt: skip
    return rows


def _cpu_ratio(ours: Cell | None, floor: Cell | None) -> float | None:
    if ours is None or floor is None:
        return None
    return _divide(ours.server_cpu_ms_per_request, floor.server_cpu_ms_per_request)


def _chat_cells(cells: list[Cell], target: str) -> dict[tuple[str, int], Cell]:
    return {(c.mode, c.concurrency): c for c in cells if c.target == target}


def _rps_ratio(ours: Cell | None, theirs: Cell | None) -> float | None:
    return _divide(ours.rps, theirs.rps) if ours and theirs else None


def assemble(results: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: cells with overheads, ratios, bars, memory cell, run metadata."""
    cells: list[Cell] = results["cells"]
    attach_overheads(cells)
    return {
        "meta": {**results["meta"], "definitions": DEFINITIONS},
        "cells": [asdict(c) for c in cells],
        "ratios": ratios(cells),
        "floor_ratios": floor_ratios(cells),
        "bars": bars(cells, results["memory"]),
        "memory": results["memory"],
    }


def write(results: dict[str, Any], stem: Path) -> tuple[Path, Path]:
    """`stem`.json and `stem`.md; returns both paths."""
    document = assemble(results)
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(document), encoding="utf-8")
    return json_path, md_path


def markdown(document: dict[str, Any]) -> str:
    meta = document["meta"]
    parts = [
        f"## Benchmark run {meta.get('started', '')}\n",
        f"`{meta.get('command', '')}`; {meta.get('wall_s', '?')} s wall; "
        f"LiteLLM {meta.get('litellm_version')}; Python {meta.get('python')}; "
        f"{meta.get('pinning')}; niceness {meta.get('nice')}. "
        f"Simulator profile: `{json.dumps(meta.get('simulator_profile'))}`.\n",
        _cells_table(document["cells"]),
        _ratios_table(document["ratios"]),
        _floor_table(document.get("floor_ratios", [])),
        _bars_table(document["bars"]),
        _memory_text(document["memory"]),
        f"{DEFINITIONS}\n",
    ]
    return "\n".join(p for p in parts if p)


def _cells_table(cells: list[dict[str, Any]]) -> str:
    head = (
        "| target | mode | c | req/s | p50 ms | p99 ms | ovh p50 | ovh p99 | TTFT p50 | TTFT p99 "
        "| TTFT ovh p50 | TTFT ovh p99 | CPU ms/req | RSS MiB | client CPU % | sim CPU % "
        "| other CPU % | errors |"
    )
    rows = [head, "|" + "---|" * 18]
    for c in cells:
        o = c["overhead"]
        values = [
            c["target"], c["mode"], c["concurrency"], _f(c["rps"], 0),
            _f(c["latency_p50_ms"]), _f(c["latency_p99_ms"]),
            _f(o.get("p50_ms")), _f(o.get("p99_ms")),
            _f(c["ttft_p50_ms"]), _f(c["ttft_p99_ms"]),
            _f(o.get("ttft_p50_ms")), _f(o.get("ttft_p99_ms")),
            _f(c["server_cpu_ms_per_request"]), _f(c["server_rss_mib"], 0),
            _f(c["client_cpu_percent"], 0), _f(c["simulator_cpu_percent"], 0),
            _f(c["foreign_cpu_percent"], 0), c["errors"],
        ]  # fmt: skip
        rows.append("| " + " | ".join(str(v) for v in values) + " |")
    return "### Cells (latencies and overheads in ms)\n\n" + "\n".join(rows) + "\n"


def _ratios_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    lines = [
        "| target | mode | c | req/s ours | req/s LiteLLM | req/s ratio | ovh p50 ratio "
        "| ovh p99 ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        values = [
            r["target"], r["mode"], r["concurrency"], _f(r["rps_ours"], 0), _f(r["rps_litellm"], 0),
            _f(r["rps_ratio"], 1) + "x", _f(r["overhead_p50_ratio"], 3),
            _f(r["overhead_p99_ratio"], 3),
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    return "### Ours / stock LiteLLM proxy\n\n" + "\n".join(lines) + "\n"


def _floor_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    lines = [
        "| target | mode | c | CPU ms/req ours | CPU ms/req floor | CPU ratio | req/s ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        values = [
            r["target"], r["mode"], r["concurrency"], _f(r["cpu_ms_ours"], 3),
            _f(r["cpu_ms_floor"], 3), _f(r["cpu_ratio"], 2) + "x", _f(r["rps_ratio"], 2) + "x",
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    return "### Ours / the bare forwarder (floor)\n\n" + "\n".join(lines) + "\n"


def _bars_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| issue | bar | target | measured | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        verdict = {True: "pass", False: "**FAIL**", None: "not measured"}[r["passed"]]
        lines.append(f"| {r['issue']} | {r['bar']} | {r['limit']} | {_f(r['value'])} | {verdict} |")
    return "### Bars (issues 2, 3 and 10, 'Done when')\n\n" + "\n".join(lines) + "\n"


def _memory_text(memory: dict[str, Any] | None) -> str:
    if not memory:
        return ""
    curve = ", ".join(f"{p['requests']}: {p['rss_mib']:.0f}" for p in memory["points"])
    return (
        f"### Memory cell\n\nFresh gateway, {memory['requests']} requests at concurrency "
        f"{memory['concurrency']} (alternating blocks of plain and streamed chat, "
        f"{memory['errors']} errors, {memory['elapsed_s']} s): RSS "
        f"{memory['rss_start_mib']:.1f} MiB -> {memory['rss_end_mib']:.1f} MiB. "
        f"Requests: MiB = {curve}.\n"
    )


def _bar(
    issue: int, name: str, limit: str, value: float | None, bound: float, *, upper: bool = False
) -> dict[str, Any]:
    passed = None if value is None else (value <= bound if upper else value >= bound)
    return {"issue": issue, "bar": name, "limit": limit, "value": value, "passed": passed}


def _overhead(cell: Cell | None, key: str) -> float | None:
    return cell.overhead.get(key) if cell else None


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _divide(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
