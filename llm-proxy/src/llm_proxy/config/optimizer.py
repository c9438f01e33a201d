"""gateway.yaml's `optimizer:` section: where the optimizer runs and which approaches may.

Three sets: default-on approaches every key may use unless its key or team lists others
(metadata `optimizer_approaches`); opt-in ones only a key or team that lists them may use;
and never: OptiLLM techniques that run model-written code or fetch URLs, refused whatever
a key lists and refused here too, so no config can turn them on.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

NEVER = frozenset({"z3", "executecode", "readurls"})
DEFAULT_ON = (
    "none",
    "re2",
    "cot_reflection",
    "moa",
    "bon",
    "self_consistency",
    "plansearch",
    "rto",
)
OPT_IN = ("leap", "mcts", "pvg")


class Optimizer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The optimizer service's base URL (its /v1/chat/completions); unset: no approach runs
    # and a request naming one gets a plain call, said in x-gateway-optimizer.
    url: str | None = None
    default_on: list[str] = list(DEFAULT_ON)
    opt_in: list[str] = list(OPT_IN)
    # The approaches' deadline when the request sets no x-gateway-deadline-ms; past it the
    # optimizer answers with one plain call instead.
    deadline_ms: Annotated[int, Field(gt=0)] = 60_000
    max_deadline_ms: Annotated[int, Field(gt=0)] = 300_000
    # Hard caps per request: sub-calls made, and their tokens (prompt + completion).
    max_calls: Annotated[int, Field(ge=1, le=1000)] = 32
    max_total_tokens: Annotated[int, Field(ge=1)] = 1_000_000
    # How long the optimizer may take beyond the deadline (its plain-call fallback).
    fallback_timeout_s: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _never_is_never(self) -> Optimizer:
        for field_name in ("default_on", "opt_in"):
            banned = sorted(set(getattr(self, field_name)) & NEVER)
            if banned:
                raise ValueError(
                    f"{field_name}: {', '.join(banned)} run model-written code or fetch URLs "
                    "and are never allowed"
                )
        both = sorted(set(self.default_on) & set(self.opt_in))
        if both:
            raise ValueError(f"default_on and opt_in both name {', '.join(both)}")
        return self
