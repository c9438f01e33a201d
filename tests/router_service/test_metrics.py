"""The paper's metrics on outcomes whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from router_service.pgr import apgr, cost_saving, cpt, pgr_curve

STRONG = np.array([1, 1, 1, 1, 0, 1, 1, 1], dtype=float)
WEAK = np.array([0, 0, 1, 1, 0, 1, 1, 0], dtype=float)


def test_constant_scores_are_random_routing() -> None:
    curve = pgr_curve(np.full(8, 0.3), STRONG, WEAK)
    assert apgr(curve) == pytest.approx(0.5)
    np.testing.assert_allclose(curve.pgr, np.linspace(0, 1, 9))


def test_oracle_reaches_full_quality_with_the_fewest_strong_calls() -> None:
    gains = STRONG - WEAK
    curve = pgr_curve(gains, STRONG, WEAK)
    assert cpt(curve, 1.0) == pytest.approx(3 / 8)  # three prompts need the strong model
    assert apgr(curve) > 0.8
    assert apgr(pgr_curve(-gains, STRONG, WEAK)) < 0.2


def test_cpt_and_cost_saving() -> None:
    curve = pgr_curve(STRONG - WEAK, STRONG, WEAK)
    assert cpt(curve, 0.5) == pytest.approx(2 / 8)
    assert cost_saving(0.25, strong_price=10.0, weak_price=1.0) == pytest.approx(0.675)
    assert cost_saving(1.0, strong_price=10.0, weak_price=1.0) == pytest.approx(0.0)


def test_equal_models_have_no_pgr() -> None:
    with pytest.raises(ValueError):
        pgr_curve(np.zeros(3), np.ones(3), np.ones(3))
