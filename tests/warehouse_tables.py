"""The same relation read from a DuckDB file and from PostgreSQL, compared row by row: values
normalised as Python compares them across adapters, the load times left out (each warehouse
loaded the files at its own time)."""

import math
from collections.abc import Collection
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.postgres_server import PostgresServer

FLOAT_TOLERANCE = 1e-9
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at"}

Table = tuple[list[str], list[tuple]]


def duckdb_table(path: Path, relation: str) -> Table:
    """The column names and normalised rows of a relation, without the load time."""
    with duckdb.connect(str(path), read_only=True) as con:
        result = con.execute(f"select * from {relation}")
        return normalised_table([column[0] for column in result.description], result.fetchall())


def postgres_table(server: PostgresServer, relation: str) -> Table:
    """The column names and normalised rows of a relation, without the load time."""
    with closing(server.connect()) as con, con.cursor() as cursor:
        cursor.execute(f"select * from {relation}")
        return normalised_table([column[0] for column in cursor.description], cursor.fetchall())


def assert_same_rows(relation: str, duck: Table, pg: Table, ignore: Collection[str] = ()) -> int:
    """DuckDB's relation and another warehouse's (PostgreSQL, Spark) have the same columns and
    rows, but for the columns `ignore` names; the row count."""
    (columns, duck_rows), (pg_columns, pg_rows) = _without(duck, ignore), _without(pg, ignore)
    assert pg_columns == columns, relation
    assert len(pg_rows) == len(duck_rows), relation
    differences = [
        (dict(zip(columns, expected, strict=True)), dict(zip(columns, actual, strict=True)))
        for expected, actual in zip(
            sorted(duck_rows, key=_sort_key), sorted(pg_rows, key=_sort_key), strict=True
        )
        if not _rows_equal(expected, actual)
    ]
    assert differences == [], (
        f"{relation}: {len(differences)} row(s) differ (duckdb, postgres): {differences[:3]}"
    )
    return len(duck_rows)


def _without(table: Table, ignore: Collection[str]) -> Table:
    columns, rows = table
    keep = [i for i, column in enumerate(columns) if column not in ignore]
    return [columns[i] for i in keep], [tuple(row[i] for i in keep) for row in rows]


def normalised_table(columns: list[str], rows: list[tuple]) -> Table:
    """The columns and rows of a relation as every warehouse's compare: without the load time,
    values normalised."""
    keep = [i for i, column in enumerate(columns) if column not in LOAD_TIME_COLUMNS]
    return [columns[i] for i in keep], [
        tuple(_normalise_value(row[i]) for i in keep) for row in rows
    ]


def _normalise_value(value):
    """Values as Python compares them across adapters: numbers as float, timestamps naive UTC."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _sort_key(row: tuple) -> tuple:
    """A total order on rows of mixed types with nulls; floats rounded so noise sorts alike."""
    return tuple(
        (0, "")
        if value is None
        else (1, round(value, 6))
        if isinstance(value, float)
        else (1, value)
        if isinstance(value, (int, date, datetime))
        else (2, str(value))
        for value in row
    )


def _rows_equal(expected: tuple, actual: tuple) -> bool:
    return all(_values_equal(a, b) for a, b in zip(expected, actual, strict=True))


def _values_equal(expected, actual) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if expected is None or actual is None:
            return expected is actual
        return math.isclose(expected, actual, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return expected == actual
