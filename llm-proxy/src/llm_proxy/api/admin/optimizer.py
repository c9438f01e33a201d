"""`GET /admin/optimizer`: which approaches this gateway lets run, and the caps on a run.

The optimizer section is file-only (not a managed section), so nothing else in the admin
API shows it; the dashboard's Optimizer page reads it here beside the logged fan-outs.
Readable by any admin role; it carries no secret (the service's URL is said only as set
or not).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from llm_proxy.api.admin.access import GatewayDep, Readonly
from llm_proxy.config.optimizer import NEVER

router = APIRouter(prefix="/admin/optimizer", tags=["Admin: optimizer"])


class OptimizerOut(BaseModel):
    enabled: bool = Field(description="an optimizer service is configured: approaches run")
    default_on: list[str] = Field(description="approaches any key may use unless it lists others")
    opt_in: list[str] = Field(description="approaches only a key or team that lists them may use")
    never: list[str] = Field(description="refused whatever a key lists: they run code or fetch")
    deadline_ms: int
    max_deadline_ms: int
    max_calls: int = Field(description="sub-calls one request may make")
    max_total_tokens: int = Field(description="tokens one request's sub-calls may use")


@router.get("", summary="The optimizer's approaches (default-on, opt-in, never) and caps")
async def get_optimizer(_: Readonly, gateway: GatewayDep) -> OptimizerOut:
    section = gateway.config.optimizer
    return OptimizerOut(
        enabled=section.url is not None,
        default_on=list(section.default_on),
        opt_in=list(section.opt_in),
        never=sorted(NEVER),
        deadline_ms=section.deadline_ms,
        max_deadline_ms=section.max_deadline_ms,
        max_calls=section.max_calls,
        max_total_tokens=section.max_total_tokens,
    )
