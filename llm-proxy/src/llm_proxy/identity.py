"""Who is calling, and the limits and budgets of every scope they belong to.

Value types shared by the store (which loads them), the limits (which charge them) and
the pipeline (which carries them). This module imports nothing else of the package, so
any layer may use it without pulling another in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ScopeLimits:
    """Rate limits and budgets of one scope the caller belongs to: its key, team or user.

    Filled by `identify` from the key, team and user records; enforced by the limits and
    budget stages. None means no limit on that dimension.
    """

    scope: Literal["key", "team", "user"]
    id: str
    rpm: int | None = None
    tpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None
    tpd: int | None = None
    budget_usd_daily: float | None = None
    budget_usd_monthly: float | None = None
    budget_tokens_daily: int | None = None
    budget_tokens_monthly: int | None = None
    alert_thresholds: tuple[float, ...] = (0.8, 1.0)
    auto_downgrade_to: str | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as far as the pipeline's later stages need to know."""

    is_master: bool = False
    key_id: str | None = None
    key_prefix: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    # Empty: every model is allowed.
    allowed_models: tuple[str, ...] = ()
    default_model: str | None = None
    max_tokens_cap: int | None = None
    scopes: tuple[ScopeLimits, ...] = ()
    # The optimizer approaches each of the key's and team's metadata lists (one tuple per
    # scope that lists any): a request may use an approach every list names.
    optimizer_approaches: tuple[tuple[str, ...], ...] = ()

    @property
    def caller(self) -> str:
        """Whose requests these are, for counting failures per caller: the key, or master."""
        return self.key_id or "master"
