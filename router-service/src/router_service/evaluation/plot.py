"""The PGR curves as a PNG: one panel per benchmark, our router against random routing."""

from __future__ import annotations

from pathlib import Path

from router_service.figures import Figures


def save_plot(rows: list[Figures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here, none wanted
    import matplotlib.pyplot as plt

    benchmarks = list(dict.fromkeys(r.benchmark for r in rows))
    figure, axes = plt.subplots(1, len(benchmarks), figsize=(5 * len(benchmarks), 4.2))
    axes = axes if len(benchmarks) > 1 else [axes]
    for axis, benchmark in zip(axes, benchmarks, strict=True):
        for r in (r for r in rows if r.benchmark == benchmark):
            label = f"{r.router} (APGR {r.apgr:.3f})"
            axis.plot(r.curve.strong_share * 100, r.curve.pgr, label=label)
        axis.axhline(1.0, color="grey", linewidth=0.6, linestyle=":")
        axis.set_title(f"{benchmark} (held-out, n={_n(rows, benchmark)})")
        axis.set_xlabel("calls to the strong model (%)")
        axis.set_ylabel("PGR")
        axis.set_xlim(0, 100)
        axis.legend(loc="lower right")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _n(rows: list[Figures], benchmark: str) -> int:
    return next(r.items for r in rows if r.benchmark == benchmark)
