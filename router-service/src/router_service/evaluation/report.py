"""The evaluation's figures as text: a table, and the PGR curves at round strong shares."""

from __future__ import annotations

import numpy as np

from router_service.figures import Figures


def table(rows: list[Figures]) -> str:
    header = (
        f"{'benchmark':<11} {'router':<8} {'items':>6} {'APGR':>6} {'CPT(50%)':>9} "
        f"{'CPT(80%)':>9} {'CPT(95%)':>9} {'saving@PGR>=0.95':>17}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.benchmark:<11} {r.router:<8} {r.items:>6} {r.apgr:>6.3f} {r.cpt50:>9.1%} "
            f"{r.cpt80:>9.1%} {r.cpt95:>9.1%} {r.saving95:>17.1%}"
        )
    return "\n".join(lines)


def curve_points(r: Figures, steps: int = 10) -> str:
    """The PGR curve at strong shares 0, 10 %, …, 100 %."""
    shares = np.linspace(0, 1, steps + 1)
    values = np.interp(shares, r.curve.strong_share, r.curve.pgr)
    points = " ".join(f"{s:.0%}:{v:.2f}" for s, v in zip(shares, values, strict=True))
    return f"{r.benchmark:<11} {r.router:<8} PGR {points}"
