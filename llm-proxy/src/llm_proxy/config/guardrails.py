"""The `guardrails` section of gateway.yaml: content-safety policies and who they apply to.

A policy names checks, each with its action, and the stages it runs on. The global list
applies to every request; an override for a model, a team or a key (applied in that order,
so the most specific wins) replaces global policies of the same name, adds new ones, or
disables some by name. A team's or a key's override may also opt that tenant in to prompt
logging (`log_prompts`: the key's choice beats its team's), kept redacted and encrypted
under `prompt_log.keys`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import re2
from pydantic import Field, field_validator, model_validator

from llm_proxy.config.base import Strict, secret_reference

Action = Literal["block", "redact", "alert"]
Verdict = Literal["block", "alert"]
Stage = Literal["request", "response"]
PiiEntity = Literal[
    "email",
    "phone",
    "credit_card",
    "iban",
    "us_ssn",
    "national_id",
    "ip_address",
    "secret",
]
SecretKind = Literal[
    "openai_key",
    "anthropic_key",
    "aws_access_key",
    "github_token",
    "slack_token",
    "private_key",
    "jwt",
    "gateway_key",
]
PII_ENTITIES: tuple[PiiEntity, ...] = PiiEntity.__args__  # type: ignore[attr-defined]
SECRET_KINDS: tuple[SecretKind, ...] = SecretKind.__args__  # type: ignore[attr-defined]


class PiiCheck(Strict):
    entities: Annotated[list[PiiEntity], Field(min_length=1)] = list(PII_ENTITIES)
    action: Action = "redact"
    # Put the originals back into the answer: the model never sees them, the user does.
    restore: bool = False


class SecretsCheck(Strict):
    kinds: Annotated[list[SecretKind], Field(min_length=1)] = list(SECRET_KINDS)
    action: Action = "block"


class DenyListCheck(Strict):
    words: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1)]
    action: Action = "block"


class RegexRule(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    pattern: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("pattern")
    @classmethod
    def _compiles_in_re2(cls, value: str) -> str:
        options = re2.Options()
        options.log_errors = False
        try:
            re2.compile(value, options)
        except re2.error as error:
            raise ValueError(f"not an RE2 pattern: {error}") from None
        return value


class RegexCheck(Strict):
    rules: Annotated[list[RegexRule], Field(min_length=1)]
    action: Action = "block"


class UnicodeCheck(Strict):
    # redact: the invisible and bidirectional-control characters are removed.
    action: Action = "redact"


class InjectionCheck(Strict):
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    action: Verdict = "block"


class CapsCheck(Strict):
    max_chars: Annotated[int, Field(gt=0)] | None = None
    max_tokens: Annotated[int, Field(gt=0)] | None = None
    action: Verdict = "block"


class JsonSchemaCheck(Strict):
    """A response must be valid against the schema the request's `response_format` gave."""

    action: Verdict = "block"


CLASSIFIER_INSTRUCTIONS = (
    "You are a content-safety classifier. Read the user's text and answer only with JSON: "
    '{"flagged": true or false, "categories": [the names of the policies it breaks]}.'
)


class ClassifierCheck(Strict):
    """A model the gateway itself asks whether a request's (or an answer's) text may pass
    (`guard.classifier`)."""

    # A model (or group) this gateway serves: the call is routed like any request.
    model: Annotated[str, Field(min_length=1, max_length=200)]
    deadline_ms: Annotated[int, Field(gt=0, le=60_000)] = 1000
    # No verdict in time (or none readable): open lets the request pass, closed refuses it.
    fail: Literal["open", "closed"] = "open"
    action: Verdict = "block"
    instructions: Annotated[str, Field(min_length=1, max_length=4000)] = CLASSIFIER_INSTRUCTIONS
    # The newest characters of the text sent to the classifier.
    max_chars: Annotated[int, Field(gt=0, le=1_000_000)] = 20_000


class Checks(Strict):
    pii: PiiCheck | None = None
    secrets: SecretsCheck | None = None
    deny_list: DenyListCheck | None = None
    regex: RegexCheck | None = None
    unicode: UnicodeCheck | None = None
    injection: InjectionCheck | None = None
    caps: CapsCheck | None = None
    json_schema: JsonSchemaCheck | None = None
    classifier: ClassifierCheck | None = None


class Policy(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    on: Annotated[list[Stage], Field(min_length=1)] = ["request"]
    checks: Checks

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `on:` key as the boolean true.
        if isinstance(data, dict) and True in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data


class Override(Strict):
    """Policies for one model, team or key (exactly one of them)."""

    model: str | None = None
    team: str | None = None
    key: str | None = None
    policies: list[Policy] = []
    # Global (or less specific) policies that do not apply here, by name.
    disable: list[str] = []
    # A tenant's prompts and answers kept with its request log records (redacted, then
    # encrypted): true opts in, false opts out (a key of a team that opted in), unset
    # leaves it to the team (or off).
    log_prompts: bool | None = None

    @model_validator(mode="after")
    def _one_scope(self) -> Override:
        if sum(scope is not None for scope in (self.model, self.team, self.key)) != 1:
            raise ValueError("an override names exactly one of model, team, key")
        if self.model is not None and self.log_prompts is not None:
            raise ValueError("log_prompts is a tenant's choice: set it on a team or a key")
        return self


class PromptLogKey(Strict):
    """A key logged prompts are encrypted with: its id is stored beside each ciphertext."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
    key_ref: str

    @field_validator("key_ref")
    @classmethod
    def _reference(cls, value: str) -> str:
        secret_reference(value)
        return value


class PromptLog(Strict):
    """The keys of opted-in tenants' logged prompts (AES-GCM): the first encrypts new
    records, every one decrypts those it encrypted (rotation: put the new key first)."""

    keys: Annotated[list[PromptLogKey], Field(min_length=1)]
    # Each logged text (a string of the request, the answer) is cut to this many characters
    # once redacted: a record stays small whatever the size of the prompt.
    max_chars: Annotated[int, Field(ge=64, le=1_000_000)] = 32_768

    @model_validator(mode="after")
    def _unique_ids(self) -> PromptLog:
        ids = [key.id for key in self.keys]
        if len(ids) != len(set(ids)):
            raise ValueError("prompt_log.keys: key ids must be unique")
        return self


class GuardAlerts(Strict):
    """Where hits are posted (in the background, one POST per request that had any)."""

    webhook_url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    # Hits of these actions are posted.
    actions: Annotated[list[Action], Field(min_length=1)] = ["alert", "block"]


class Guardrails(Strict):
    policies: list[Policy] = []
    overrides: list[Override] = []
    alerts: GuardAlerts | None = None
    # Characters of a streamed answer held back, so what spans chunks is seen whole.
    stream_window_chars: Annotated[int, Field(ge=16, le=4096)] = 64
    # A stream held whole for a classifier's verdict starts at once (200, its headers) and
    # carries an SSE comment this often until it is judged, for clients and proxies that
    # drop a silent connection; a refusal is then its error event, not a 400. Unset: a held
    # stream sends nothing before its verdict.
    held_keepalive_s: Annotated[float, Field(gt=0, le=300)] | None = None
    prompt_log: PromptLog | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Guardrails:
        for scope, policies in [("policies", self.policies)] + [
            (f"overrides[{i}]", o.policies) for i, o in enumerate(self.overrides)
        ]:
            names = [policy.name for policy in policies]
            if len(names) != len(set(names)):
                raise ValueError(f"{scope}: policy names must be unique")
        if self.prompt_log is None and any(o.log_prompts for o in self.overrides):
            raise ValueError("log_prompts needs prompt_log.keys to encrypt the prompts with")
        return self
