"""The approaches this service runs: OptiLLM's functions by name, and the sub-calls each makes.

Only techniques whose every step is a call to the model are here. OptiLLM's z3, executecode
and readurls run model-written code or fetch URLs: they are not in this table, so no request
can name them. `expected_calls` is what the gateway reserves budget for before the first
sub-call (with a model that honours `n`); the gateway's caps stop a run that makes more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# OptiLLM's signature: (system_prompt, initial_query, client, model, request_config) ->
# (answer, completion tokens it counted). Its token count is ignored: ours come from the calls.
ApproachFunction = Callable[[str, str, Any, str, dict[str, Any]], tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class Approach:
    name: str
    expected_calls: int
    summary: str
    # None: the plain call, one sub-call with the conversation as sent.
    function: ApproachFunction | None


def _optillm() -> dict[str, Approach]:
    # OptiLLM's package imports its Flask server (and with it sympy and z3): seconds, once.
    from optillm import (  # type: ignore[import-untyped]
        bon,
        cot_reflection,
        leap,
        mcts,
        moa,
        plansearch,
        pvg,
        reread,
        rto,
    )
    from optillm import self_consistency as sc

    # Importing OptiLLM's server sets the root logger to INFO, and its approaches log a line
    # per sample: formatting and writing those cost CPU on every sub-call. Its warnings stay.
    logging.getLogger("optillm").setLevel(logging.WARNING)

    def call(function: Callable[..., tuple[Any, int]], **fixed: Any) -> ApproachFunction:
        def run(
            system: str, query: str, client: Any, model: str, config: dict[str, Any]
        ) -> tuple[Any, int]:
            return function(system, query, client, model, request_config=config, **fixed)

        return run

    rows = [
        ("re2", 1, "re-reading: the question stated twice", call(reread.re2_approach)),
        ("cot_reflection", 1, "thinking, reflection, output", call(cot_reflection.cot_reflection)),
        ("moa", 3, "mixture of agents: 3 drafts, a critique, a final", call(moa.mixture_of_agents)),
        ("bon", 4, "best of 3 drafts, each rated by the model", call(bon.best_of_n_sampling, n=3)),
        (
            "self_consistency",
            5,
            "5 samples, the largest cluster of alike answers",
            call(sc.advanced_self_consistency_approach),
        ),
        ("plansearch", 4, "observations, a plan, then the solution", call(plansearch.plansearch)),
        ("rto", 4, "round-trip optimisation of code", call(rto.round_trip_optimization)),
        ("leap", 7, "principles learnt from the prompt's own examples", call(leap.leap)),
        ("mcts", 14, "Monte Carlo tree search over dialogue turns", call(mcts.chat_with_mcts)),
        ("pvg", 17, "prover-verifier game", call(pvg.inference_time_pv_game)),
    ]
    return {name: Approach(name, calls, summary, run) for name, calls, summary, run in rows}


def load_approaches() -> dict[str, Approach]:
    """Every approach this service can run, `none` first."""
    plain = Approach("none", 1, "one plain call, the conversation as sent", None)
    return {"none": plain, **_optillm()}
