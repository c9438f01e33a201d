"""Which counters a request is charged on: its scopes' limits and budgets, and the config rules.

Counter keys are stable names (the store adds its prefix): a scope's own limits under
`<scope>:<id>:…`, a config rule's under `rule:<model or *>:<per>:<subject>:…`, budgets
under `budget:<scope>:<id>:<unit>:<period>`, so every replica charges the same counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from llm_proxy.config.models import Limits, RateRule
from llm_proxy.cost import NANO_PER_USD
from llm_proxy.identity import Identity, ScopeLimits
from llm_proxy.limits.counters import Charge, Counter, Dimension, Enforce
from llm_proxy.limits.periods import DAY_MS, MINUTE_MS, Period, this_month, today
from llm_proxy.limits.reservation import Estimate, amount_of

# The key id rules counted per key use for master-key requests.
MASTER_KEY_ID = "master"

_RATE_FIELDS = (
    ("rpm", Dimension.REQUESTS, MINUTE_MS),
    ("tpm", Dimension.TOKENS, MINUTE_MS),
    ("input_tpm", Dimension.INPUT, MINUTE_MS),
    ("output_tpm", Dimension.OUTPUT, MINUTE_MS),
    ("tpd", Dimension.TOKENS, DAY_MS),
)


def rate_counters(identity: Identity, rules: Iterable[RateRule], model: str) -> list[Counter]:
    """The caller's own per-scope limits, then every config rule that applies to `model`."""
    counters = [c for scope in identity.scopes for c in _scope_rates(scope.scope, scope.id, scope)]
    for rule in rules:
        if rule.model is not None and rule.model != model:
            continue
        subject = _subject(identity, rule.per, model)
        if subject is not None:
            counters += _rule_rates(rule, subject)
    return _tightest_per_key(counters)


# What a caller with no limits of its own gets where no rule is configured (read, never changed).
_NO_COUNTERS: list[Counter] = []


class RateCounters:
    """The rate counters of each caller and model, kept while the limits policy stands:
    building the same counters again cost each request about 10 µs, a lookup 0.6."""

    _MOST = 4096

    def __init__(self) -> None:
        self._policy: Limits | None = None
        self._kept: dict[tuple[Identity, str], list[Counter]] = {}

    def __call__(self, identity: Identity, policy: Limits, model: str) -> list[Counter]:
        """Shared between requests: callers read the list, never change it."""
        if not identity.scopes and not policy.rules:
            return _NO_COUNTERS  # nothing could apply: no need to hash the identity
        if policy is not self._policy:
            self._policy, self._kept = policy, {}
        counters = self._kept.get((identity, model))
        if counters is None:
            if len(self._kept) >= self._MOST:
                self._kept.clear()
            counters = self._kept[identity, model] = rate_counters(identity, policy.rules, model)
        return counters


def rate_charges(counters: list[Counter], estimate: Estimate) -> list[Charge]:
    return [Charge(c, amount_of(c.dimension, estimate)) for c in counters]


def budget_counters(
    scopes: Iterable[ScopeLimits],
    thresholds: tuple[float, ...] | None,
    counted_only: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> list[Counter]:
    """Daily and monthly USD and token budgets; `counted_only` owners are past theirs."""
    day, month = today(now), this_month(now)
    counters: list[Counter] = []
    for scope in scopes:
        owner = f"{scope.scope}:{scope.id}"
        enforce = Enforce.COUNT if owner in counted_only else Enforce.BELOW
        alerts = scope.alert_thresholds if thresholds is None else thresholds
        budgets = (
            (scope.budget_usd_daily, Dimension.NANO_USD, day),
            (scope.budget_usd_monthly, Dimension.NANO_USD, month),
            (scope.budget_tokens_daily, Dimension.TOKENS, day),
            (scope.budget_tokens_monthly, Dimension.TOKENS, month),
        )
        for limit, dimension, period in budgets:
            if limit is None:
                continue
            counters.append(_budget(owner, limit, dimension, period, enforce, alerts))
    return counters


def budget_charges(counters: list[Counter], estimate: Estimate, nano_usd: int) -> list[Charge]:
    return [Charge(c, amount_of(c.dimension, estimate, nano_usd)) for c in counters]


def scope_counters(
    scope: str, scope_id: str, limits: ScopeLimits | None, rules: Iterable[RateRule]
) -> list[Counter]:
    """Every counter a scope (key, team, user or model) may have, for the usage API."""
    counters = _scope_rates(scope, scope_id, limits)
    for rule in rules:
        if rule.per == scope and not (scope == "model" and rule.model not in (None, scope_id)):
            counters += _rule_rates(rule, scope_id)
    if limits is not None:
        counters += budget_counters([limits], None)
    return counters


def _scope_rates(scope: str, scope_id: str, limits: ScopeLimits | None) -> list[Counter]:
    owner = f"{scope}:{scope_id}"
    counters = []
    for name, dimension, window_ms in _RATE_FIELDS:
        limit = getattr(limits, name, None)
        if limit is not None:
            counters.append(
                Counter(f"{owner}:{name}", dimension, limit, window_ms=window_ms, owner=owner)
            )
    return counters


def _rule_rates(rule: RateRule, subject: str) -> list[Counter]:
    owner = f"{rule.per}:{subject}" + (
        f" on {rule.model}" if rule.model and rule.per != "model" else ""
    )
    base = f"rule:{rule.model or '*'}:{rule.per}:{subject}"
    counters = []
    for name, dimension, window_ms in _RATE_FIELDS:
        limit = getattr(rule, name)
        if limit is not None:
            counters.append(
                Counter(f"{base}:{name}", dimension, limit, window_ms=window_ms, owner=owner)
            )
    return counters


def _subject(identity: Identity, per: str, model: str) -> str | None:
    if per == "model":
        return model
    if per == "key":
        # Past identify, a caller without a key id is the master key's.
        return identity.key_id or MASTER_KEY_ID
    if per == "team":
        return identity.team_id
    return identity.user_id


def _budget(
    owner: str,
    limit: float,
    dimension: Dimension,
    period: Period,
    enforce: Enforce,
    thresholds: tuple[float, ...],
) -> Counter:
    unit = "usd" if dimension is Dimension.NANO_USD else "tokens"
    scaled = round(limit * NANO_PER_USD) if dimension is Dimension.NANO_USD else int(limit)
    return Counter(
        f"budget:{owner}:{unit}:{period.name}",
        dimension,
        scaled,
        period_end_ms=period.end_ms,
        enforce=enforce,
        alert_thresholds=thresholds,
        owner=owner,
    )


def _tightest_per_key(counters: list[Counter]) -> list[Counter]:
    """One charge per counter: two rules naming the same counter keep the lower limit."""
    kept: dict[str, Counter] = {}
    for counter in counters:
        known = kept.get(counter.key)
        if known is None or counter.limit < known.limit:
            kept[counter.key] = counter
    return list(kept.values())
