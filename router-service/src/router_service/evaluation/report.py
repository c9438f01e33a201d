"""One router's figures on one benchmark, computed from its scores and the stored outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_service.pgr import PgrCurve, apgr, cost_saving, cpt, pgr_curve

QUALITY_BAR = 0.95


@dataclass(frozen=True)
class Figures:
    router: str
    benchmark: str
    items: int
    apgr: float
    cpt50: float
    cpt80: float
    # Strong share needed for PGR >= 0.95 and the saving against always-strong it buys.
    cpt95: float
    saving95: float
    curve: PgrCurve


def figures(
    router: str,
    benchmark: str,
    scores: np.ndarray,
    strong: np.ndarray,
    weak: np.ndarray,
    prices: tuple[float, float],
) -> Figures:
    curve = pgr_curve(scores, strong, weak)
    share95 = cpt(curve, QUALITY_BAR)
    return Figures(
        router=router,
        benchmark=benchmark,
        items=len(scores),
        apgr=apgr(curve),
        cpt50=cpt(curve, 0.5),
        cpt80=cpt(curve, 0.8),
        cpt95=share95,
        saving95=cost_saving(share95, *prices),
        curve=curve,
    )


def mean_figures(runs: list[Figures]) -> Figures:
    """The average of several runs of one router (random routing over seeds)."""
    first = runs[0]
    return Figures(
        router=first.router,
        benchmark=first.benchmark,
        items=first.items,
        apgr=float(np.mean([r.apgr for r in runs])),
        cpt50=float(np.mean([r.cpt50 for r in runs])),
        cpt80=float(np.mean([r.cpt80 for r in runs])),
        cpt95=float(np.mean([r.cpt95 for r in runs])),
        saving95=float(np.mean([r.saving95 for r in runs])),
        curve=PgrCurve(first.curve.strong_share, np.mean([r.curve.pgr for r in runs], axis=0)),
    )


def table(rows: list[Figures]) -> str:
    header = (
        f"{'benchmark':<10} {'router':<8} {'items':>6} {'APGR':>6} {'CPT(50%)':>9} "
        f"{'CPT(80%)':>9} {'CPT(95%)':>9} {'saving@PGR>=0.95':>17}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.benchmark:<10} {r.router:<8} {r.items:>6} {r.apgr:>6.3f} {r.cpt50:>9.1%} "
            f"{r.cpt80:>9.1%} {r.cpt95:>9.1%} {r.saving95:>17.1%}"
        )
    return "\n".join(lines)


def curve_points(r: Figures, steps: int = 10) -> str:
    """The PGR curve at strong shares 0, 10 %, …, 100 %."""
    shares = np.linspace(0, 1, steps + 1)
    values = np.interp(shares, r.curve.strong_share, r.curve.pgr)
    points = " ".join(f"{s:.0%}:{v:.2f}" for s, v in zip(shares, values, strict=True))
    return f"{r.benchmark:<10} {r.router:<8} PGR {points}"
