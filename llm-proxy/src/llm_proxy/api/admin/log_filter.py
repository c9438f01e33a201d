"""Which request-log rows a query covers: the filters `/admin/logs` and the usage series share.

Every filter is a query parameter; a bad value (an unknown status class, a naive time,
a time range that ends before it starts) is a 400 before any row is read. A virtual key's
dashboard session sees only its own key's and its team's rows, whatever it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import AwareDatetime
from sqlalchemy import ColumnElement, and_, or_

from llm_proxy.api.admin.access import Caller
from llm_proxy.pipeline.errors import bad_request
from llm_proxy.store.models import RequestLog

StatusFilter = Annotated[
    str | None,
    Query(
        pattern=r"^([1-5][0-9][0-9]|[1-5]xx|error)$",
        description="an HTTP status (429), a class (5xx), or `error` (any status ≥ 400)",
    ),
]
CacheFilter = Annotated[
    Literal["hit", "miss"] | None, Query(description="answered from the response cache or not")
]
RouteFilter = Annotated[
    Literal["auto", "fallback", "direct"] | None,
    Query(
        description="`auto`: the router-service chose the model; `fallback`: a fallback "
        "group answered; `direct`: neither"
    ),
]


@dataclass(frozen=True, slots=True)
class LogFilter:
    since: datetime | None
    until: datetime | None
    conditions: tuple[ColumnElement[bool], ...]
    # The filter names an optimizer run: it covers that run's sub-calls.
    names_parent: bool = False
    # The filters given, by parameter name: what the usage rollup reads to know it covers them.
    given: tuple[tuple[str, str], ...] = ()

    def where(self) -> list[ColumnElement[bool]]:
        time_range = []
        if self.since is not None:
            time_range.append(RequestLog.started_at >= self.since)
        if self.until is not None:
            time_range.append(RequestLog.started_at < self.until)
        return [*time_range, *self.conditions]


def _log_filter(
    since: Annotated[AwareDatetime | None, Query(description="started at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="started before")] = None,
    team_id: Annotated[str | None, Query()] = None,
    key_id: Annotated[str | None, Query()] = None,
    user_id: Annotated[str | None, Query()] = None,
    model: Annotated[
        str | None, Query(description="the model asked for, or the group that answered")
    ] = None,
    provider: Annotated[str | None, Query()] = None,
    client_request_id: Annotated[
        str | None, Query(max_length=128, description="the caller's x-request-id")
    ] = None,
    status: StatusFilter = None,
    cache: CacheFilter = None,
    route: RouteFilter = None,
    parent_request_id: Annotated[
        str | None, Query(description="the sub-calls of this request's optimizer run")
    ] = None,
    shadow: Annotated[
        bool | None,
        Query(description="true: only shadow calls (shadow judging); false: none of them"),
    ] = None,
    shadow_of: Annotated[
        str | None, Query(max_length=128, description="the shadow calls judging this request")
    ] = None,
) -> LogFilter:
    since, until = _instant(since, "since"), _instant(until, "until")
    if since is not None and until is not None and until <= since:
        raise bad_request("'until' must be later than 'since'.", param="until")
    conditions = [
        column == value
        for column, value in (
            (RequestLog.team_id, team_id),
            (RequestLog.key_id, key_id),
            (RequestLog.user_id, user_id),
            (RequestLog.provider, provider),
            (RequestLog.parent_request_id, parent_request_id),
            (RequestLog.client_request_id, client_request_id),
            (RequestLog.shadow_of, shadow_of),
        )
        if value is not None
    ]
    if model is not None:
        conditions.append(
            or_(RequestLog.model_requested == model, RequestLog.model_routed == model)
        )
    if status is not None:
        conditions.append(_status(status))
    if cache is not None:
        conditions.append(RequestLog.cache_hit.is_(cache == "hit"))
    if route is not None:
        conditions.append(_route(route))
    if shadow is not None:
        shadows = RequestLog.shadow_of.is_not(None)
        conditions.append(shadows if shadow else ~shadows)
    named = {
        "team_id": team_id,
        "key_id": key_id,
        "user_id": user_id,
        "model": model,
        "provider": provider,
        "client_request_id": client_request_id,
        "parent_request_id": parent_request_id,
        "status": status,
        "cache": cache,
        "route": route,
        "shadow": None if shadow is None else str(shadow).lower(),
        "shadow_of": shadow_of,
    }
    return LogFilter(
        since,
        until,
        tuple(conditions),
        names_parent=parent_request_id is not None,
        given=tuple((name, value) for name, value in named.items() if value is not None),
    )


# Times outside these bounds are mistakes; inside them, a day either way stays a datetime.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not _EARLIEST <= moment <= _LATEST:
        raise bad_request(f"'{name}' must be between 1970-01-01 and 9999-12-30 (UTC).", name)
    return moment


def _status(value: str) -> ColumnElement[bool]:
    if value == "error":
        return RequestLog.status >= 400
    if value.endswith("xx"):
        low = int(value[0]) * 100
        return and_(RequestLog.status >= low, RequestLog.status < low + 100)
    return RequestLog.status == int(value)


def _route(value: str) -> ColumnElement[bool]:
    if value == "fallback":
        return RequestLog.fallback_used.is_(True)
    routed = RequestLog.router_score.is_not(None)
    if value == "auto":
        return routed
    return and_(~routed, RequestLog.fallback_used.is_(False))


def visible_to(caller: Caller) -> list[ColumnElement[bool]]:
    """The rows a caller may read: all for an admin role; a key's session its key and team."""
    if caller.grant is not None:
        return []
    own = [RequestLog.key_id == caller.key_id]
    if caller.team_id is not None:
        own.append(RequestLog.team_id == caller.team_id)
    return [or_(*own)]


Filter = Annotated[LogFilter, Depends(_log_filter)]
