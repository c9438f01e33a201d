"""One router's figures on one benchmark, computed from its scores and the stored outcomes:
APGR, CPT(50 %), CPT(80 %), CPT(95 %) and the cost saved at PGR >= 0.95 (shared by `evaluate`
and by the transfer matrix of `train`)."""

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
