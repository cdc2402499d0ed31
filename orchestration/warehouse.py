"""The warehouse connection of the Python steps, on DuckDB or PostgreSQL (DBT_TARGET).

On DuckDB a step gets DuckDB's own connection. On PostgreSQL it gets a `PostgresConnection`:
a psycopg2 connection behind the part of DuckDB's connection API the steps use, so the same
code and most of the same SQL run on both. The steps branch on `dialect(con)` only where the
SQL differs (e.g. DuckDB's `group by all` and `arg_max`, or a bulk load: DuckDB reads files
itself, PostgreSQL takes COPY).

Like DuckDB's connection, a `PostgresConnection` is in autocommit mode: every statement is its
own transaction unless the step runs `begin transaction` ... `commit` (or `rollback`).
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from typing import Any, Literal

import duckdb
import pandas as pd
import psycopg2
import psycopg2.extensions
import psycopg2.extras

Dialect = Literal["duckdb", "postgres"]

# What a failed read or write of either warehouse raises.
WAREHOUSE_ERRORS: tuple[type[Exception], ...] = (duckdb.Error, psycopg2.Error)

# DuckDB's parameters (`?`, `$name`) and what psycopg2 must see differently (`%`), outside the
# SQL's comments and string literals (whose `%` psycopg2 also reads).
_DUCKDB_TOKENS = re.compile(r"--[^\n]*|'(?:[^']|'')*'|\?|\$([A-Za-z_]\w*)|%")
_NUMERIC = psycopg2.extensions.DECIMAL.values  # the type codes of numeric columns


def psycopg2_query(query: str, params: Sequence | Mapping | None) -> str:
    """`query` with DuckDB's parameters in psycopg2's style: `?` -> `%s`, `$name` ->
    `%(name)s`, a literal `%` doubled. Without parameters psycopg2 formats nothing."""
    if not params:
        return query

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith(("'", "--")):
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _DUCKDB_TOKENS.sub(replace, query)


class PostgresCursor:
    """The result of `PostgresConnection.execute()`, read as DuckDB's is."""

    def __init__(self, cursor: psycopg2.extensions.cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Sequence | None:
        return self._cursor.description

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    def df(self) -> pd.DataFrame:
        """The rows as a DataFrame; numeric columns as floats, as DuckDB's `df()` gives
        decimals."""
        columns = [column.name for column in self._cursor.description]
        frame = pd.DataFrame.from_records(self._cursor.fetchall(), columns=columns)
        for column in self._cursor.description:
            if column.type_code in _NUMERIC:
                frame[column.name] = frame[column.name].astype("float64")
        return frame


class PostgresConnection:
    """A psycopg2 connection (autocommit, UTC) that takes DuckDB's SQL parameters."""

    dialect: Dialect = "postgres"

    def __init__(self, connection: psycopg2.extensions.connection) -> None:
        self.connection = connection

    def execute(self, query: str, params: Sequence | Mapping | None = None) -> PostgresCursor:
        cursor = self.connection.cursor()
        cursor.execute(psycopg2_query(query, params), params or None)
        return PostgresCursor(cursor)

    def mogrify(self, query: str, params: Sequence | Mapping | None = None) -> str:
        """The query with its parameters bound, as the server would receive it."""
        with self.connection.cursor() as cursor:
            return cursor.mogrify(psycopg2_query(query, params), params or None).decode()

    def executemany(self, query: str, rows: Sequence[Sequence]) -> None:
        with self.connection.cursor() as cursor:
            psycopg2.extras.execute_batch(cursor, psycopg2_query(query, rows[0]), rows)

    def close(self) -> None:
        self.connection.close()


WarehouseConnection = duckdb.DuckDBPyConnection | PostgresConnection


def dialect(con: WarehouseConnection) -> Dialect:
    """Which SQL the connection speaks."""
    return "postgres" if isinstance(con, PostgresConnection) else "duckdb"


@contextmanager
def connect_postgres(
    connect_args: Mapping[str, Any], *, read_only: bool = False
) -> Iterator[PostgresConnection]:
    """A `PostgresConnection` on a new psycopg2 connection (`psycopg2.connect()`'s arguments:
    host, port, user, password, dbname), closed at the end."""
    with closing(psycopg2.connect(**connect_args, options="-c TimeZone=UTC")) as connection:
        connection.set_session(readonly=read_only, autocommit=True)
        connection.set_client_encoding("UTF8")
        yield PostgresConnection(connection)
