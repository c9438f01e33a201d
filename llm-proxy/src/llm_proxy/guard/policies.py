"""Which checks apply to a request: the global policies, then its model's, team's and key's.

Overrides apply from the least to the most specific (model, team, key): a policy of the same
name replaces the one before it, a new name adds one, `disable` removes by name. Policies are
compiled once per config; the plan for each combination of overrides is built on first use
and kept on this object, which is rebuilt when the config is. Whether a tenant's prompts
are logged is its key's override's `log_prompts`, else its team's, else not.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_proxy.config.guardrails import (
    CapsCheck,
    ClassifierCheck,
    Guardrails,
    JsonSchemaCheck,
    Policy,
    Stage,
)
from llm_proxy.guard.detectors import Detector, detectors_of
from llm_proxy.guard.screen import Screen


@dataclass(frozen=True, slots=True)
class Plan:
    """What one stage runs for one request."""

    screen: Screen
    caps: tuple[CapsCheck, ...] = ()
    json_schema: JsonSchemaCheck | None = None
    # Characters a stream holds back: enough for the longest thing a detector looks for.
    window: int = 64
    # Models asked about the request's text (request stage only), after the checks above.
    classifiers: tuple[ClassifierCheck, ...] = ()

    def __bool__(self) -> bool:
        return (
            bool(self.screen)
            or bool(self.caps)
            or self.json_schema is not None
            or bool(self.classifiers)
        )


@dataclass(frozen=True, slots=True)
class _Compiled:
    policy: Policy
    detectors: tuple[Detector, ...]


class Policies:
    def __init__(self, config: Guardrails) -> None:
        self._window = config.stream_window_chars
        self._global = tuple(_compile(policy) for policy in config.policies)
        self._overrides: dict[tuple[str, str], list[tuple[tuple[_Compiled, ...], tuple[str, ...]]]]
        self._overrides = {}
        self._log_prompts: dict[tuple[str, str], bool] = {}
        for override in config.overrides:
            scope = next(
                (kind, name)
                for kind, name in (
                    ("model", override.model),
                    ("team", override.team),
                    ("key", override.key),
                )
                if name is not None
            )
            compiled = tuple(_compile(policy) for policy in override.policies)
            self._overrides.setdefault(scope, []).append((compiled, tuple(override.disable)))
            if override.log_prompts is not None:
                self._log_prompts[scope] = override.log_prompts
        self._plans: dict[tuple[tuple[str, str], ...], dict[Stage, Plan]] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._global or self._overrides)

    def logs_prompts(self, team: str | None, key: str | None) -> bool:
        """The tenant opted in to prompt logging (its key's choice first, then its team's)."""
        if not self._log_prompts:
            return False
        for kind, name in (("key", key), ("team", team)):
            choice = self._log_prompts.get((kind, name)) if name is not None else None
            if choice is not None:
                return choice
        return False

    def plan(self, stage: Stage, model: str, team: str | None, key: str | None) -> Plan:
        scopes = tuple(
            scope
            for scope in (("model", model), ("team", team or ""), ("key", key or ""))
            if scope in self._overrides
        )
        plans = self._plans.get(scopes)
        if plans is None:
            plans = self._build(scopes)
            self._plans[scopes] = plans
        return plans[stage]

    def _build(self, scopes: tuple[tuple[str, str], ...]) -> dict[Stage, Plan]:
        effective = {compiled.policy.name: compiled for compiled in self._global}
        for scope in scopes:
            for policies, disabled in self._overrides[scope]:
                for name in disabled:
                    effective.pop(name, None)
                for compiled in policies:
                    effective[compiled.policy.name] = compiled
        return {
            stage: self._plan_for(stage, list(effective.values()))
            for stage in ("request", "response")
        }

    def _plan_for(self, stage: Stage, policies: list[_Compiled]) -> Plan:
        chosen = [compiled for compiled in policies if stage in compiled.policy.on]
        detectors = [d for compiled in chosen for d in compiled.detectors]
        checks = [compiled.policy.checks for compiled in chosen]
        caps = tuple(c.caps for c in checks if c.caps is not None)
        schema = next((c.json_schema for c in checks if c.json_schema is not None), None)
        longest = max(
            (len(w) for c in checks if c.deny_list is not None for w in c.deny_list.words),
            default=0,
        )
        classifiers = tuple(c.classifier for c in checks if c.classifier is not None)
        return Plan(Screen(detectors), caps, schema, max(self._window, longest + 1), classifiers)


def _compile(policy: Policy) -> _Compiled:
    return _Compiled(policy, tuple(detectors_of(policy.checks)))
