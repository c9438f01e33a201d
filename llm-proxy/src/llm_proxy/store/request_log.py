"""The request log (spend log): the row shape, idempotent batch inserts, and queries.

Writers hand over `RequestRecord`s (see `llm_proxy.spend`); readers — usage endpoints, the
logs API, dashboards, rebuilding budget counters after a Redis loss — use `find_requests`,
`usage_totals` / `usage_by_model` and `totals_by_scope` here, so the table's indexes
(`started_at`, and key/team/user + `started_at`) serve every query.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import compress
from typing import Any, Literal, Required, TypedDict

import orjson
from sqlalchemy import JSON, Boolean, Float, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from llm_proxy.store import driver_sql
from llm_proxy.store.models import LoggedPrompt, RequestLog, UTCDateTime
from llm_proxy.store.rollup_writes import add_records

Scope = Literal["key", "team", "user"]
_SCOPE_COLUMNS: dict[Scope, Any] = {
    "key": RequestLog.key_id,
    "team": RequestLog.team_id,
    "user": RequestLog.user_id,
}


class RequestRecord(TypedDict, total=False):
    """What the gateway knows about one finished request: one row of `request_log`.

    A dict, as the spend writer takes it: made once (a dict display costs a tenth of a
    dataclass of 49 fields and its conversion), written to the write-ahead file and
    inserted as it is. A key left out takes its default (`RECORD_DEFAULTS`) on insert.
    """

    request_id: Required[str]
    started_at: Required[datetime]
    finished_at: Required[datetime]
    api: Required[str]
    latency_ms: Required[float]
    status: Required[int]
    key_id: str | None
    team_id: str | None
    user_id: str | None
    model_requested: str | None
    model_routed: str | None
    provider: str | None
    deployment: str | None
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    cost_saved_usd: float
    ttft_ms: float | None
    error_type: str | None
    error_message: str | None
    stream: bool
    cache_hit: bool
    fallback_used: bool
    attempts: int
    router_score: float | None
    routed_from: str | None
    router: str | None
    router_threshold: float | None
    cost_strong_usd: float | None
    parent_request_id: str | None
    client_request_id: str | None
    trace_id: str | None
    prompt_hash: str | None
    stage_timings: dict[str, float]
    tags: list[str]
    # Guardrail checks that fired: stage, check, entity, action, count; never what matched.
    guardrails: list[dict[str, Any]]
    prompt_name: str | None
    prompt_version: int | None
    prompt_variant: str | None
    session_id: str | None
    tool_calls: list[str]
    region: str | None
    escalation: str | None
    escalated_from: str | None
    escalation_cost_usd: float | None
    shadow_of: str | None
    hedged_to: str | None
    hedge_trigger: str | None
    # An opted-in tenant's prompt and answer, redacted and sealed (`guard.prompt_log`):
    # `{key_id, sealed}`, written to `prompt_log` with the row, never to `request_log`.
    sealed_prompt: dict[str, str] | None


_FIELDS = tuple(RequestRecord.__annotations__)
# What a key left out of a record stands for: NULL but for these (for a required one
# too, which the database refuses).
RECORD_DEFAULTS: dict[str, Any] = dict.fromkeys(_FIELDS) | {
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "cached_tokens": 0,
    "cost_usd": 0.0,
    "cost_saved_usd": 0.0,
    "stream": False,
    "cache_hit": False,
    "fallback_used": False,
    "attempts": 0,
    "stage_timings": {},
    "tags": [],
    "guardrails": [],
    "tool_calls": [],
}
# The request log's columns: every field but the sealed prompt, which has a table of its own.
_SEALED = "sealed_prompt"
_COLUMNS = tuple(name for name in _FIELDS if name != _SEALED)


async def insert_records(
    connection: AsyncConnection,
    rows: Sequence[RequestRecord],
    lines: Sequence[bytes] | None = None,
) -> None:
    """Insert rows, skipping request ids already logged: replays and retries are harmless.
    A row's sealed prompt goes to `prompt_log`, and the rows inserted are added to the
    hourly rollups (store.rollup_writes), in the same transaction.

    On SQLite and psycopg the statement is rendered here (on SQLite many rows to a
    statement, with parameters made ready in the form SQLAlchemy's column types would
    bind; on Postgres the rows as one JSON parameter): SQLAlchemy's per-row binding cost
    more than the insert itself, on the event loop's thread. The rows inserted (none of a
    replay's) are the ones rolled up: Postgres's RETURNING names them, SQLite's count of
    rows inserted says whether they are all of them (see `_newest`). `lines`, if given: each
    row as JSON (the spend log's write-ahead lines), which Postgres's insert takes as
    they are.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    fast = _row_insert(dialect, connection.dialect.paramstyle)
    inserted: set[str] = set()
    if fast is not None and dialect == "postgresql":
        encoded, bound = _as_json(rows, lines)
        if encoded:
            inserted = await _insert_returning(connection, _JSON_ROWS, [(encoded,)])
        if bound:
            # psycopg pipelines an executemany; a statement of many rows cost more here, in
            # parsing its placeholders, than the rows' inserts. Its RETURNING: one each.
            values = [fast.parameters(r) for r in bound]
            inserted |= await _insert_returning(connection, fast.sql(_EVERY_COLUMN, 1), values)
    elif fast is not None:
        # No RETURNING: SQLite steps once for each row it returns, and each step lets go of
        # the GIL and takes it back, a switch with the event loop's thread every row. When
        # the count inserted says a row was logged already, the newest rows say which.
        for sql, parameters, ids in fast.statements(rows):
            count = await driver_sql.execute(connection, sql, parameters)
            inserted.update(ids if count == len(ids) else await _newest(connection, count))
    else:
        returning = (
            insert(RequestLog)
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(RequestLog.request_id)
        )
        fields: Sequence[Mapping[str, Any]] = rows
        columns = [{name: row[name] for name in _COLUMNS if name in row} for row in fields]
        inserted.update((await connection.execute(returning, columns)).scalars())
    await add_records(connection, _once(rows, inserted))
    prompts = [
        {"request_id": row["request_id"], "logged_at": row["finished_at"], **sealed}
        for row in rows
        if (sealed := row.get("sealed_prompt"))
    ]
    if prompts:
        statement = insert(LoggedPrompt).on_conflict_do_nothing(index_elements=["request_id"])
        await connection.execute(statement, prompts)


# Postgres: a batch's rows as one parameter, a JSON array of them (each as the write-ahead
# file has it), which the server takes apart into the columns. Bound a parameter a column,
# psycopg's adaptation of each row's ~50 values cost more on the event loop's thread than
# all else the writer does. JSON's text reads back as the same values: the times with
# their offset, floats as the same doubles (PostgreSQL reads them with strtod), JSON as
# the same JSONB.
def _json_rows_insert() -> str:
    columns = RequestLog.__table__.c
    # A JSON column's null is JSONB's null, as bound (`_json_text`), not SQL's NULL.
    values = [
        f"coalesce({n}, 'null'::jsonb)" if isinstance(columns[n].type, JSON) else n
        for n in _COLUMNS
    ]
    table = RequestLog.__tablename__
    return (
        f'INSERT INTO "{table}" ({", ".join(_COLUMNS)}) SELECT {", ".join(values)} '
        f'FROM json_populate_recordset(NULL::"{table}", %s::json) '
        'ON CONFLICT ("request_id") DO NOTHING RETURNING "request_id"'
    )


_JSON_ROWS = _json_rows_insert()
_FLOATS = operator.itemgetter(
    *(n for n in _COLUMNS if isinstance(RequestLog.__table__.c[n].type, Float))
)


def _as_json(
    rows: Sequence[RequestRecord], lines: Sequence[bytes] | None
) -> tuple[str, list[RequestRecord]]:
    """The rows `_JSON_ROWS` takes as they would be bound, and those it does not: ones that
    lack a column (spooled by an older version: bound, it takes its default, not NULL), with
    naive times (refused when bound), or a float JSON has no number for (NaN, infinity:
    orjson writes null)."""
    encoded: list[bytes] = []
    bound: list[RequestRecord] = []
    every = len(_FIELDS)
    for i, row in enumerate(rows):
        try:
            aware = row["started_at"].tzinfo is not None and row["finished_at"].tzinfo is not None
            finite = all(map(math.isfinite, filter(None, _FLOATS(row))))
        except (AttributeError, KeyError, TypeError):
            aware = finite = False
        if aware and finite and len(row) == every:
            encoded.append(lines[i] if lines is not None else orjson.dumps(row))
        else:
            bound.append(row)
    return (b"[" + b",".join(encoded) + b"]").decode() if encoded else "", bound


async def _insert_returning(
    connection: AsyncConnection, statement: str, parameters: Sequence[Sequence[Any]]
) -> set[str]:
    """psycopg's executemany with RETURNING (SQLAlchemy's own gives no rows back), on the
    connection's transaction; its errors raised as SQLAlchemy's, as the spend writer tells
    an unreachable database from refused rows by them."""
    dbapi = connection.dialect.loaded_dbapi
    raw = (await connection.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the connection was closed")
    inserted: set[str] = set()
    try:
        async with raw.cursor() as cursor:
            await cursor.executemany(statement, parameters, returning=True)
            async for result in cursor.results():
                inserted.update(found for (found,) in await result.fetchall())
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
    return inserted


async def _newest(connection: AsyncConnection, count: int) -> list[str]:
    """SQLite: the request ids of the `count` rows the statement just run inserted (some
    of its rows were logged already). A new row's id is one more than the largest, and
    the transaction holds the database's write lock since that statement: they are the
    `count` largest."""
    if count <= 0:
        return []
    return await driver_sql.column(connection, _NEWEST, (count,))


_NEWEST = f'SELECT "request_id" FROM "{RequestLog.__tablename__}" ORDER BY "id" DESC LIMIT ?'


def _once(rows: Sequence[RequestRecord], inserted: set[str]) -> list[RequestRecord]:
    """The rows inserted, each once (a batch may hold a record twice: one row is logged)."""
    found = []
    for row in rows:
        request_id = row["request_id"]
        if request_id in inserted:
            inserted.discard(request_id)
            found.append(row)
    return found


class _RowInsert:
    """The request log's INSERT … ON CONFLICT DO NOTHING for one driver, and its rows' values."""

    def __init__(
        self,
        placeholders: list[str],
        convert: dict[str, Callable[[Any], Any]],
        max_parameters: int,
        returning: bool,
    ) -> None:
        self._placeholders = placeholders
        self._max_parameters = max_parameters
        self._returning = returning
        self._values = operator.itemgetter(*_COLUMNS)
        self._convert = [(i, convert[n]) for i, n in enumerate(_COLUMNS) if n in convert]

    @functools.lru_cache(maxsize=64)  # noqa: B019 (a few instances, kept for the process)
    def sql(self, present: tuple[bool, ...], rows: int) -> str:
        """The statement for `rows` rows that set the columns `present` marks."""
        names = ", ".join(f'"{name}"' for name in compress(_COLUMNS, present))
        row = f"({', '.join(compress(self._placeholders, present))})"
        return (
            f'INSERT INTO "{RequestLog.__tablename__}" ({names}) VALUES '
            + ",".join([row] * rows)
            + ' ON CONFLICT ("request_id") DO NOTHING'
            + (' RETURNING "request_id"' if self._returning else "")
        )

    def statements(
        self, rows: Sequence[RequestRecord]
    ) -> Iterator[tuple[str, list[Any], list[str]]]:
        """Many rows to a statement, as many as the database takes parameters for, each
        group of rows that set the same columns in statements of their own. A NULL is left
        out, not bound: Python 3.11's sqlite3 binds each None (~25 a row) through its
        adapter lookup, two failed attribute lookups and their exception messages, which
        cost more than the rest of the row's insert."""
        for first in range(0, len(rows), _MOST_ROWS):
            yield from self._slice(rows[first : first + _MOST_ROWS])

    def _slice(self, rows: Sequence[RequestRecord]) -> Iterator[tuple[str, list[Any], list[str]]]:
        """Rows made ready a slice at a time: each statement is a turn of the event loop,
        and one batch's parameters made at once held it for several milliseconds."""
        groups: dict[tuple[bool, ...], list[list[Any]]] = {}
        for row in rows:
            values = self.parameters(row)
            # A list display, then a tuple: a quarter cheaper than map(operator.is_not, ...).
            present = tuple([value is not None for value in values])
            groups.setdefault(present, []).append(values)
        for present, group in groups.items():
            most = min(_MOST_ROWS, self._max_parameters // sum(present))
            pick = _picker(present)
            start = 0
            for size in _statement_sizes(len(group), most):
                chunk = group[start : start + size]
                start += size
                # Each row's set values by one itemgetter call, not compress and chain.
                flat: list[Any] = []
                for values in chunk:
                    flat += pick(values)
                yield self.sql(present, size), flat, [values[0] for values in chunk]

    def parameters(self, row: RequestRecord) -> list[Any]:
        try:
            values = list(self._values(row))
        except KeyError:
            # Spooled by an older version, before a column existed: that column's default
            # (required ones NULL, which the database refuses, as it did before).
            values = list(self._values({**RECORD_DEFAULTS, **row}))
        for index, convert in self._convert:
            values[index] = convert(values[index])
        return values


# Rows to a statement, at most. Each row count is a statement of its own, which the
# driver keeps prepared (sqlite3: the last 128 a connection), program and all.
_MOST_ROWS = 64


def _statement_sizes(rows: int, most: int) -> Iterator[int]:
    """`rows` as statements of `most` rows, the rest in powers of two: a handful of
    statement sizes, not one per batch size. One prepared statement for each batch size
    seen grew the gateway by ~40 MiB over its first 30,000 requests."""
    while rows >= most:
        yield most
        rows -= most
    size = 1 << (most.bit_length() - 1)
    while rows:
        if size <= rows:
            yield size
            rows -= size
        size >>= 1


@functools.lru_cache(maxsize=64)
def _picker(present: tuple[bool, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """The values of a row's columns that `present` marks, as a tuple."""
    indices = list(compress(range(len(present)), present))
    if len(indices) == 1:
        only = indices[0]  # itemgetter of one index gives the value, not a tuple of it
        return lambda values: (values[only],)
    return operator.itemgetter(*indices)


_EVERY_COLUMN = (True,) * len(_COLUMNS)


@functools.cache
def _row_insert(dialect: str, paramstyle: str) -> _RowInsert | None:
    columns = RequestLog.__table__.c
    times = [n for n in _COLUMNS if isinstance(columns[n].type, UTCDateTime)]
    documents = [n for n in _COLUMNS if isinstance(columns[n].type, JSON)]
    flags = [n for n in _COLUMNS if isinstance(columns[n].type, Boolean)]
    if dialect == "sqlite" and paramstyle == "qmark":
        # SQLite keeps both as text: DateTime's naive-UTC format, JSON as a JSON string.
        convert = dict.fromkeys(times, _sqlite_time) | dict.fromkeys(documents, _json_text)
        # A bool is bound through the adapter lookup too (see `statements`); SQLite keeps 0/1.
        convert |= dict.fromkeys(flags, _bit)
        return _RowInsert(["?"] * len(_COLUMNS), convert, 32766, returning=False)
    if dialect == "postgresql" and paramstyle in ("format", "pyformat"):
        # psycopg sends a str as "unknown": the cast reads it as the JSONB the column holds.
        placeholders = ["%s::jsonb" if n in documents else "%s" for n in _COLUMNS]
        convert = dict.fromkeys(times, _utc) | dict.fromkeys(documents, _json_text)
        return _RowInsert(placeholders, convert, 65535, returning=True)
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous: pass a UTC-aware one")
    return value


def _sqlite_time(value: datetime | None) -> str | None:
    """The text SQLAlchemy's DateTime stores on SQLite, of the UTC time (as UTCDateTime binds)."""
    if value is not None and value.tzinfo is UTC and value.year >= 1000:
        # A record's own times. isoformat formats through PyUnicode_FromFormat, at ~12,000
        # instructions a call (two a row) against ~1,500 this way; the text is the same.
        two = _TWO_DIGITS
        return (
            f"{value.year}-{two[value.month]}-{two[value.day]} {two[value.hour]}:"
            f"{two[value.minute]}:{two[value.second]}.{value.microsecond:06}"
        )
    aware = _utc(value)
    if aware is None:
        return None
    return aware.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_TWO_DIGITS = [f"{n:02}" for n in range(100)]


def _bit(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _json_text(value: Any) -> str:
    if not value and isinstance(value, list):
        return "[]"  # most rows' tags, guardrails and tool calls
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Conditions for `find_requests`; None means "any"."""

    key_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    model: str | None = None
    status: int | None = None
    errors_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    parent_request_id: str | None = None


async def find_requests(
    session: AsyncSession, where: LogFilter, limit: int = 100, before_id: int | None = None
) -> list[RequestLog]:
    """Newest first; page on by passing the last row's `id` as `before_id` (stable)."""
    query = _filtered(select(RequestLog), where).order_by(RequestLog.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(RequestLog.id < before_id)
    return list((await session.scalars(query)).all())


async def find_request(session: AsyncSession, request_id: str) -> RequestLog | None:
    query = select(RequestLog).where(RequestLog.request_id == request_id)
    return (await session.scalars(query)).first()


async def find_prompt(session: AsyncSession, request_id: str) -> LoggedPrompt | None:
    """The sealed prompt of a request whose tenant opted in to prompt logging, if any."""
    return await session.get(LoggedPrompt, request_id)


def _filtered(query: Select[Any], where: LogFilter) -> Select[Any]:
    equal = {
        RequestLog.key_id: where.key_id,
        RequestLog.team_id: where.team_id,
        RequestLog.user_id: where.user_id,
        RequestLog.model_requested: where.model,
        RequestLog.status: where.status,
        RequestLog.parent_request_id: where.parent_request_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if where.errors_only:
        query = query.where(RequestLog.status >= 400)
    if where.since is not None:
        query = query.where(RequestLog.started_at >= where.since)
    if where.until is not None:
        query = query.where(RequestLog.started_at < where.until)
    return query


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    # model "auto": what always sending these requests to the strong model would have
    # cost more than what routing them did.
    routing_saved_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ModelTotals:
    model: str
    totals: Totals


_SUMS = (
    func.count(RequestLog.id),
    func.coalesce(func.sum(RequestLog.prompt_tokens), 0),
    func.coalesce(func.sum(RequestLog.completion_tokens), 0),
    func.coalesce(func.sum(RequestLog.cost_usd), 0.0),
    # NULL for requests that were not auto-routed, which SUM skips.
    func.coalesce(func.sum(RequestLog.cost_strong_usd - RequestLog.cost_usd), 0.0),
)


# An optimizer's parent request carries its sub-calls' summed tokens and cost: sums count
# each fan-out once, on its parent, so they read only rows that are no one's sub-call.
_ROOTS = RequestLog.parent_request_id.is_(None)


def _totals(row: Sequence[Any]) -> Totals:
    return Totals(int(row[0]), int(row[1]), int(row[2]), float(row[3]), float(row[4]))


async def usage_totals(
    session: AsyncSession, scope: Scope, scope_id: str, since: datetime
) -> Totals:
    """Requests, tokens and cost of one key, team or user since a moment."""
    column = _SCOPE_COLUMNS[scope]
    query = select(*_SUMS).where(column == scope_id, RequestLog.started_at >= since, _ROOTS)
    row = (await session.execute(query)).one()
    return _totals(row)


async def usage_by_model(
    session: AsyncSession, scope: Scope, scope_id: str, since: datetime, limit: int = 10
) -> list[ModelTotals]:
    """The same totals per routed model, most expensive first (then most requests)."""
    column = _SCOPE_COLUMNS[scope]
    model = func.coalesce(RequestLog.model_routed, RequestLog.model_requested, "")
    query = (
        select(model, *_SUMS)
        .where(column == scope_id, RequestLog.started_at >= since, _ROOTS)
        .group_by(model)
        .order_by(_SUMS[3].desc(), _SUMS[0].desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [ModelTotals(str(r[0]), _totals(r[1:])) for r in rows]


@dataclass(frozen=True, slots=True)
class ScopeTotals:
    scope: Scope
    scope_id: str
    totals: Totals


async def totals_by_scope(session: AsyncSession, since: datetime) -> list[ScopeTotals]:
    """Every key's, team's and user's totals since a moment: what budget counters must hold.

    For rebuilding calendar counters (today, this month) after their store was lost; one
    grouped query per scope, each served by that scope's `(…_id, started_at)` index.
    """
    found: list[ScopeTotals] = []
    for scope, column in _SCOPE_COLUMNS.items():
        query = (
            select(column, *_SUMS)
            .where(column.is_not(None), RequestLog.started_at >= since, _ROOTS)
            .group_by(column)
        )
        for row in (await session.execute(query)).all():
            totals = _totals(row[1:])
            found.append(ScopeTotals(scope, str(row[0]), totals))
    return found
