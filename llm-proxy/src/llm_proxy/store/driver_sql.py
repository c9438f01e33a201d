"""SQL the spend writer sends straight to SQLite's driver, in one trip to its thread each.

aiosqlite runs every call on a thread of its own, and the event loop learns the result on
its next turn. Through SQLAlchemy's adapter a statement takes three such trips (make a
cursor, execute, close it); with the loop busy serving requests, a turn lasts as long as
the requests it serves, and a writer paced by trips fell behind the requests it logs: at
1,500 requests a second on one core it wrote 1,000-1,500 rows a second, and its queue (and
the gateway's memory) grew for as long as the load lasted. Here a statement is one trip:
aiosqlite's own `execute`, on the connection (and so in the transaction) SQLAlchemy holds.

Any other database takes the same statements through SQLAlchemy (`exec_driver_sql`).
Errors are raised as SQLAlchemy's, as the writer tells an unreachable database from
refused rows by them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection


async def execute(connection: AsyncConnection, sql: str, parameters: Sequence[Any]) -> int:
    """Run one statement; returns the count of rows it changed."""
    driver = await _aiosqlite(connection)
    if driver is None:
        return (await connection.exec_driver_sql(sql, tuple(parameters))).rowcount
    with _as_sqlalchemy(connection, sql):
        cursor = await driver.execute(sql, parameters)
        return int(cursor.rowcount)


async def execute_many(
    connection: AsyncConnection, sql: str, parameters: Sequence[Sequence[Any]]
) -> None:
    """Run one statement for each set of parameters."""
    driver = await _aiosqlite(connection)
    if driver is None:
        await connection.exec_driver_sql(sql, list(parameters))
        return
    with _as_sqlalchemy(connection, sql):
        await driver.executemany(sql, parameters)


async def column(connection: AsyncConnection, sql: str, parameters: Sequence[Any]) -> list[Any]:
    """The first column of a query's rows."""
    driver = await _aiosqlite(connection)
    if driver is None:
        return list((await connection.exec_driver_sql(sql, tuple(parameters))).scalars())
    with _as_sqlalchemy(connection, sql):
        rows = await driver.execute_fetchall(sql, parameters)
        return [row[0] for row in rows]


async def _aiosqlite(connection: AsyncConnection) -> Any:
    if connection.dialect.driver != "aiosqlite":
        return None
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the connection was closed")
    return driver


@contextmanager
def _as_sqlalchemy(connection: AsyncConnection, sql: str) -> Iterator[None]:
    """The driver's errors as SQLAlchemy raises them."""
    error: type[Exception] = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except error as exc:
        raise DBAPIError.instance(sql, None, exc, error) from exc
