"""`/admin/prompts` and `/admin/partials`: versioned templates, labels, dry runs, experiments.

Both resources have the same shape; a prompt's versions hold messages (and optionally a
model, default parameters and a JSON Schema of its variables), a partial's hold a text.
developer and admin write, readonly reads. A version is immutable once saved: a save
that would not compile (a partial missing, a cycle, nesting too deep, bad Mustache, an
invalid schema) answers 400 and writes nothing.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Any, Literal

import jsonschema
import orjson
from fastapi import APIRouter, Query
from pydantic import AfterValidator, Field
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.api.admin.access import Developer, GatewayDep, Readonly, Session
from llm_proxy.api.admin.crud import Input, Limit, Output, commit
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store import prompts
from llm_proxy.store.models import Prompt, PromptVersion, new_id
from llm_proxy.store.prompts import Kind
from llm_proxy.templates.catalog import check_partial, compile_version, resolved
from llm_proxy.templates.experiment import experiment_results
from llm_proxy.templates.render import LABEL, NAME, TemplateError, check_syntax, render
from llm_proxy.upstream.parameters import CHAT

router = APIRouter(tags=["Admin: prompts"])

# Parameters a version may set as defaults: the chat API's own, less what a request owns.
_PARAMS = CHAT - {"model", "messages", "stream", "stream_options", "metadata"}
_MAX_JSON_BYTES = 65_536


def _label(value: str) -> str:
    if not LABEL.match(value) or value.isdigit():
        raise ValueError(f"a label matches {LABEL.pattern} and is not a number")
    return value


def _params(value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - _PARAMS)
    if unknown:
        raise ValueError(f"not a chat parameter a prompt may set: {', '.join(unknown)}")
    return _bounded(value)


def _schema(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        _bounded(value)
        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
    return value


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        raise ValueError("nested too deeply") from None
    if size > _MAX_JSON_BYTES:
        raise ValueError(f"larger than {_MAX_JSON_BYTES} bytes as JSON")
    return value


Label = Annotated[str, AfterValidator(_label)]
TemplateName = Annotated[str, Field(pattern=NAME.pattern)]
Text = Annotated[str, Field(min_length=1, max_length=100_000)]


class Message(Input):
    role: Literal["system", "developer", "user", "assistant"]
    content: Text


class VersionFields(Input):
    messages: Annotated[list[Message], Field(min_length=1, max_length=100)] | None = None
    text: Text | None = None
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    params: Annotated[dict[str, Any], AfterValidator(_params)] = {}
    variables_schema: Annotated[dict[str, Any] | None, AfterValidator(_schema)] = None
    comment: Annotated[str, Field(max_length=1000)] | None = None
    labels: Annotated[list[Label], Field(max_length=20)] = []


class Created(VersionFields):
    name: TemplateName


class LabelMove(Input):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class RenderRequest(Input):
    variables: Annotated[dict[str, Any], AfterValidator(_bounded)] = {}
    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    label: Label | None = None


class Variant(Input):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    weight: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
    name: Annotated[str, Field(pattern=NAME.pattern)] | None = None


class Experiment(Input):
    variants: Annotated[list[Variant], Field(min_length=1, max_length=20)]
    sticky_by: Literal["user", "key", "session"] = "user"


class VersionOut(Output):
    version: int
    messages: list[dict[str, str]] | None = None
    text: str | None = None
    model: str | None
    params: dict[str, Any]
    variables_schema: dict[str, Any] | None
    comment: str | None
    author: str | None
    created_at: datetime


class LabelMoveOut(Output):
    label: str
    from_version: int | None
    to_version: int
    author: str | None
    moved_at: datetime


class TemplateOut(Output):
    name: str
    kind: str
    latest_version: int
    labels: dict[str, int]
    experiment: dict[str, Any] | None
    created_at: datetime


class TemplateDetail(TemplateOut):
    versions: list[VersionOut]
    label_history: list[LabelMoveOut]


class TemplateList(Output):
    object: str = "list"
    data: list[TemplateOut]
    has_more: bool
    next_after: str | None


class Rendered(Output):
    name: str
    version: int
    messages: list[dict[str, str]]
    model: str | None
    params: dict[str, Any]
    unused_variables: list[str]


class Diff(Output):
    name: str
    from_version: int
    to_version: int
    diff: str


def _routes(kind: Kind, prefix: str) -> None:
    """The endpoints of one kind; the closures below are FastAPI's handlers."""
    noun = kind

    @router.post(f"{prefix}", status_code=201, summary=f"Create a {noun} (its version 1)")
    async def create(
        body: Created, caller: Developer, session: Session, gw: GatewayDep
    ) -> TemplateDetail:
        if await prompts.find(session, kind, body.name) is not None:
            raise GatewayError(409, f"A {noun} named '{body.name}' exists.", code="conflict")
        prompt = Prompt(id=new_id("prm"), kind=kind, name=body.name)
        session.add(prompt)
        await _save_version(session, prompt, 1, body, caller.role, ["production", *body.labels])
        await commit(session, gw)
        return await _detail(session, prompt)

    @router.get(f"{prefix}", summary=f"List {noun}s")
    async def list_all(
        _: Readonly, session: Session, limit: Limit = 50, after: str | None = None
    ) -> TemplateList:
        rows = await prompts.listing(session, kind, limit, after)
        data = [await _summary(session, row) for row in rows[:limit]]
        more = len(rows) > limit
        return TemplateList(data=data, has_more=more, next_after=data[-1].name if more else None)

    @router.get(f"{prefix}/{{name}}", summary=f"A {noun} with its versions and label history")
    async def get(name: str, _: Readonly, session: Session) -> TemplateDetail:
        return await _detail(session, await _find(session, kind, name))

    @router.post(f"{prefix}/{{name}}/versions", status_code=201, summary="Add a version")
    async def add_version(
        name: str, body: VersionFields, caller: Developer, session: Session, gw: GatewayDep
    ) -> VersionOut:
        prompt = await _find(session, kind, name)
        number = await prompts.latest(session, prompt.id) + 1
        row = await _save_version(session, prompt, number, body, caller.role, body.labels)
        await commit(session, gw)
        return _version_out(row)

    @router.get(f"{prefix}/{{name}}/versions/{{number}}", summary="One version")
    async def get_version(name: str, number: int, _: Readonly, session: Session) -> VersionOut:
        prompt = await _find(session, kind, name)
        return _version_out(await _version(session, prompt, number))

    @router.put(f"{prefix}/{{name}}/labels/{{label}}", summary="Point a label at a version")
    async def put_label(
        name: str, label: str, body: LabelMove, caller: Developer, session: Session, gw: GatewayDep
    ) -> TemplateDetail:
        try:
            _label(label)
        except ValueError as exc:
            raise bad_request(f"Label '{label[:40]}': {exc}.", param="label") from None
        prompt = await _find(session, kind, name)
        await _version(session, prompt, body.version)
        await prompts.move_label(session, prompt.id, label, body.version, caller.role)
        await commit(session, gw)
        return await _detail(session, prompt)

    @router.get(f"{prefix}/{{name}}/diff", summary="What changed between two versions")
    async def diff(
        name: str,
        _: Readonly,
        session: Session,
        from_: Annotated[int, Query(alias="from", ge=1)],
        to: Annotated[int, Query(ge=1)],
    ) -> Diff:
        prompt = await _find(session, kind, name)
        old, new = await _version(session, prompt, from_), await _version(session, prompt, to)
        lines = difflib.unified_diff(
            _lines(old), _lines(new), f"{name}@{from_}", f"{name}@{to}", lineterm=""
        )
        return Diff(name=name, from_version=from_, to_version=to, diff="\n".join(lines))

    if kind == "prompt":
        _prompt_only_routes(prefix)


def _prompt_only_routes(prefix: str) -> None:
    @router.post(f"{prefix}/{{name}}/render", summary="Render a version (a dry run)")
    async def dry_run(name: str, body: RenderRequest, _: Readonly, session: Session) -> Rendered:
        prompt = await _find(session, "prompt", name)
        selector = body.version if body.version is not None else body.label
        row = await prompts.selected(session, "prompt", name, selector)
        if row is None:
            raise _not_found(f"prompt '{name}' has no version or label '{selector}'")
        try:
            found = await resolved(session, prompt, row)
            messages = render(found.compiled, body.variables)
        except TemplateError as exc:
            raise bad_request(str(exc), param="variables") from None
        unused = sorted(set(body.variables) - found.compiled.names)
        return Rendered(
            name=name,
            version=row.version,
            messages=messages,
            model=row.model,
            params=row.params,
            unused_variables=unused,
        )

    @router.put(f"{prefix}/{{name}}/experiment", summary="Split traffic between versions")
    async def put_experiment(
        name: str, body: Experiment, _: Developer, session: Session, gw: GatewayDep
    ) -> TemplateDetail:
        prompt = await _find(session, "prompt", name)
        for variant in body.variants:
            await _version(session, prompt, variant.version)
        names = [v.name or f"v{v.version}" for v in body.variants]
        if len(set(names)) != len(names):
            raise bad_request("Each variant needs a distinct name.", param="variants")
        variants = [
            {"version": v.version, "weight": v.weight, "name": n}
            for v, n in zip(body.variants, names, strict=True)
        ]
        # A new id: assignments of an earlier experiment on this prompt do not carry over.
        prompt.experiment = {"id": new_id("exp"), "variants": variants, "sticky_by": body.sticky_by}
        await commit(session, gw)
        return await _detail(session, prompt)

    @router.delete(f"{prefix}/{{name}}/experiment", summary="End the experiment")
    async def delete_experiment(
        name: str, _: Developer, session: Session, gw: GatewayDep
    ) -> TemplateDetail:
        prompt = await _find(session, "prompt", name)
        prompt.experiment = None
        await commit(session, gw)
        return await _detail(session, prompt)

    @router.get(f"{prefix}/{{name}}/experiment/results", summary="Outcomes per variant")
    async def results(name: str, _: Readonly, session: Session) -> dict[str, Any]:
        prompt = await _find(session, "prompt", name)
        return {"name": name, "variants": await experiment_results(session, prompt.name)}


async def _save_version(
    session: AsyncSession,
    prompt: Prompt,
    number: int,
    body: VersionFields,
    author: str,
    labels: list[str],
) -> PromptVersion:
    template = _template(prompt.kind, body)
    try:
        if prompt.kind == "partial":
            check_syntax(template)
            await check_partial(session, prompt.name, template)
        else:
            for message in template:
                check_syntax(message["content"])
            await compile_version(session, template, body.variables_schema)
    except TemplateError as exc:
        field = "text" if prompt.kind == "partial" else "messages"
        raise bad_request(str(exc), param=field) from None
    row = PromptVersion(
        prompt_id=prompt.id,
        version=number,
        template=template,
        model=body.model,
        params=body.params,
        variables_schema=body.variables_schema,
        comment=body.comment,
        author=author,
    )
    session.add(row)
    await session.flush()
    for label in dict.fromkeys(labels):
        await prompts.move_label(session, prompt.id, label, number, author)
    return row


def _template(kind: str, body: VersionFields) -> Any:
    if kind == "partial":
        if body.text is None or body.messages is not None:
            raise bad_request("A partial's version is a 'text' (and no 'messages').", param="text")
        if body.model or body.params or body.variables_schema:
            raise bad_request("A partial has only a 'text'.", param="text")
        return body.text
    if body.messages is None or body.text is not None:
        raise bad_request("A prompt's version is its 'messages' (and no 'text').", param="messages")
    return [m.model_dump() for m in body.messages]


async def _find(session: AsyncSession, kind: Kind, name: str) -> Prompt:
    prompt = await prompts.find(session, kind, name)
    if prompt is None:
        raise _not_found(f"no {kind} named '{name[:64]}'")
    return prompt


async def _version(session: AsyncSession, prompt: Prompt, number: int) -> PromptVersion:
    row = await prompts.version(session, prompt.id, number)
    if row is None:
        raise _not_found(f"{prompt.kind} '{prompt.name}' has no version {number}")
    return row


def _not_found(what: str) -> GatewayError:
    return GatewayError(404, f"Not found: {what}.", code="not_found")


async def _summary(session: AsyncSession, prompt: Prompt) -> TemplateOut:
    return TemplateOut(
        name=prompt.name,
        kind=prompt.kind,
        latest_version=await prompts.latest(session, prompt.id),
        labels=await prompts.labels(session, prompt.id),
        experiment=prompt.experiment,
        created_at=prompt.created_at,
    )


async def _detail(session: AsyncSession, prompt: Prompt) -> TemplateDetail:
    summary = await _summary(session, prompt)
    versions = [_version_out(row) for row in await prompts.versions(session, prompt.id)]
    history = [
        LabelMoveOut.model_validate(row) for row in await prompts.label_history(session, prompt.id)
    ]
    return TemplateDetail(**summary.model_dump(), versions=versions, label_history=history)


def _version_out(row: PromptVersion) -> VersionOut:
    content = (
        {"text": row.template} if isinstance(row.template, str) else {"messages": row.template}
    )
    return VersionOut(
        version=row.version,
        model=row.model,
        params=row.params or {},
        variables_schema=row.variables_schema,
        comment=row.comment,
        author=row.author,
        created_at=row.created_at,
        **content,
    )


def _lines(row: PromptVersion) -> list[str]:
    if isinstance(row.template, str):
        return row.template.splitlines()
    lines = []
    for message in row.template:
        lines.append(f"[{message['role']}]")
        lines.extend(message["content"].splitlines())
    if row.model:
        lines.append(f"model: {row.model}")
    lines.extend(f"{k}: {orjson.dumps(v).decode()}" for k, v in sorted((row.params or {}).items()))
    return lines


_routes("prompt", "/admin/prompts")
_routes("partial", "/admin/partials")
