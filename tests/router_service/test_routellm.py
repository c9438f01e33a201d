"""Our router is a RouteLLM `Router`, registered in its table, usable by its Controller."""

from __future__ import annotations

import pytest
from router_service.routellm_bridge import routellm_routers
from router_service.router import NAME, MiniLMRouter

from tests.router_service.test_route import HARD, TRIVIAL


@pytest.fixture(scope="module")
def router() -> MiniLMRouter:
    return MiniLMRouter()


def test_registered_in_routellm_router_table() -> None:
    routers = routellm_routers()
    assert routers.ROUTER_CLS[NAME] is MiniLMRouter
    assert issubclass(MiniLMRouter, routers.Router)
    assert str(MiniLMRouter.__new__(MiniLMRouter)) == NAME


def test_routellm_route_with_a_prompt_string(router: MiniLMRouter) -> None:
    pair = type("Pair", (), {"strong": "strong", "weak": "weak"})()
    threshold = (
        router.calculate_strong_win_rate(HARD) + router.calculate_strong_win_rate(TRIVIAL)
    ) / 2
    assert router.route(HARD, threshold, pair) == "strong"
    assert router.route(TRIVIAL, threshold, pair) == "weak"


def test_routellm_controller_loads_it_by_name() -> None:
    from routellm.controller import Controller

    controller = Controller(
        routers=[NAME], strong_model="gpt-4o", weak_model="gpt-4o-mini", config={NAME: {}}
    )
    assert controller.route(HARD, NAME, 0.0) == "gpt-4o"
    assert controller.route(TRIVIAL, NAME, 1.0) == "gpt-4o-mini"
