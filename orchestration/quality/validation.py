"""Validate the rows a suite reads with Great Expectations, and say in plain words which
expectation failed on which rows.

Each suite reads small rows computed in the warehouse (one per account and day, per user, per
ladder and level...). On PostgreSQL, Great Expectations validates them in the database through
its SQL data source: the suite's query becomes a query asset and every expectation runs as
SQL. On DuckDB it validates them through its pandas data source, the query's rows read into a
frame: its SQL data source cannot run its metrics on DuckDB (duckdb-engine fails with "list
index out of range").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from orchestration.quality.thresholds import MAX_EXAMPLES
from orchestration.warehouse import WarehouseConnection, dialect

# The expectation's `meta` key holding a `str.format` template for one offending row of the
# frame, e.g. "account {account_id} had {events:,} events on {event_date}".
OFFENDING_ROW = "offending_row"


@dataclass(frozen=True)
class SuiteRows:
    """What a suite validates: on DuckDB its query's rows (`frame`), on PostgreSQL its query
    (`query`, parameters bound) and the query's columns, run in the database."""

    frame: pd.DataFrame | None = None
    query: str | None = None
    columns: tuple[str, ...] = ()


def read_rows(
    con: WarehouseConnection, sql: str, params: Sequence | Mapping | None = None
) -> SuiteRows:
    """The rows of a suite's query (DuckDB's parameters: `?` or `$name`)."""
    if dialect(con) == "postgres":
        # Great Expectations takes a query asset that starts with `select`, not `with`.
        query = f"select * from ({con.mogrify(sql, params)}) as suite_rows"
        empty = con.execute(f"{query} limit 0")
        return SuiteRows(query=query, columns=tuple(column[0] for column in empty.description))
    return SuiteRows(frame=con.execute(sql, params).df())


@dataclass(frozen=True)
class SuiteBatch:
    """An expectation suite and the rows it validates."""

    name: str
    rows: SuiteRows
    suite: gx.ExpectationSuite


@dataclass(frozen=True)
class ExpectationFailure:
    suite: str
    expectation: str
    description: str
    unexpected_count: int | None
    examples: tuple[str, ...]

    @property
    def message(self) -> str:
        """E.g. "events volume: account acc_0012 had 4,210 events on 2026-03-30, 11.3x its
        28-day median (372) [spike_ratio: expect_column_values_to_be_between]"."""
        shown = ", ".join(self.examples) or self.description
        more = (self.unexpected_count or 0) - len(self.examples)
        if self.examples and more > 0:
            shown += f" and {more:,} more"
        return f"{self.suite}: {shown} [{self.expectation}]"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    evaluated: int
    failures: tuple[ExpectationFailure, ...]

    @property
    def success(self) -> bool:
        return not self.failures


def validate(batches: Iterable[SuiteBatch], postgres_url: str | None = None) -> list[SuiteOutcome]:
    """Run each batch's suite on its rows in one ephemeral Great Expectations context: a frame
    through the pandas data source, a query through the PostgreSQL data source at
    `postgres_url` (a SQLAlchemy URL), whose connections are closed at the end."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    pandas_source = context.data_sources.add_pandas("flywheel_warehouse")
    sql_source = None
    outcomes = []
    try:
        for number, batch in enumerate(batches):
            asset_name, rows = f"{number}_{batch.name}", batch.rows
            if rows.query is None:
                definition = pandas_source.add_dataframe_asset(
                    asset_name
                ).add_batch_definition_whole_dataframe("whole_frame")
                gx_batch = definition.get_batch(batch_parameters={"dataframe": rows.frame})
                result_format = {"result_format": "COMPLETE"}
            else:
                if postgres_url is None:
                    raise ValueError(f"{batch.name}: a query to validate needs the PostgreSQL URL")
                sql_source = sql_source or context.data_sources.add_postgres(
                    "flywheel_warehouse_sql", connection_string=postgres_url
                )
                definition = sql_source.add_query_asset(
                    asset_name, query=rows.query
                ).add_batch_definition_whole_table("whole_query")
                gx_batch = definition.get_batch()
                # each offending row comes back with every column, to name it (`offending_row`)
                result_format = {
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": list(rows.columns),
                }
            result = gx_batch.validate(batch.suite, result_format=result_format)
            outcomes.append(
                SuiteOutcome(
                    suite=batch.name,
                    rows=_row_count(rows, result.results),
                    evaluated=len(result.results),
                    failures=tuple(
                        _failure(batch, expectation_result)
                        for expectation_result in result.results
                        if not expectation_result.success
                    ),
                )
            )
    finally:
        if sql_source is not None:
            sql_source.get_engine().dispose()
    return outcomes


def _row_count(rows: SuiteRows, results: Sequence[Any]) -> int:
    """The rows validated: the frame's, or those the expectations counted in the database."""
    if rows.frame is not None:
        return len(rows.frame)
    return max(((result.result or {}).get("element_count") or 0 for result in results), default=0)


def _failure(batch: SuiteBatch, expectation_result: Any) -> ExpectationFailure:
    config = expectation_result.expectation_config
    kwargs = config.kwargs
    columns = [kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs]
    label = f"{', '.join(columns)}: {config.type}" if columns else config.type
    description = config.description or config.type
    exception = expectation_result.exception_info or {}
    if exception.get("raised_exception"):
        return ExpectationFailure(
            batch.name,
            label,
            description,
            None,
            (f"{description} could not be evaluated: {exception.get('exception_message')}",),
        )
    result = expectation_result.result or {}
    template = (config.meta or {}).get(OFFENDING_ROW)
    indexes = list(result.get("unexpected_index_list") or [])[:MAX_EXAMPLES]
    if template and indexes:
        frame = batch.rows.frame
        # pandas: the frame's index of each offending row; SQL: the row itself, as a dict
        rows = indexes if frame is None else frame.loc[indexes].to_dict("records")
        examples = tuple(_format_row(template, row) for row in rows)
    elif "observed_value" in result:
        examples = (f"{description}: observed {result['observed_value']!r}",)
    else:
        values = result.get("partial_unexpected_list") or []
        examples = tuple(f"{description}: {value!r}" for value in values[:MAX_EXAMPLES])
    return ExpectationFailure(
        batch.name, label, description, result.get("unexpected_count"), examples
    )


def _format_row(template: str, row: Mapping[str, Any]) -> str:
    """The row in the template's words; missing values (None, NaN, NaT, pd.NA) read "null"."""
    plain = {key: "null" if _is_missing(value) else value for key, value in row.items()}
    try:
        return template.format(**plain)
    except (KeyError, IndexError, TypeError, ValueError):
        # e.g. "{events:,}" on a null: quote the row as it is rather than lose the failure
        return ", ".join(f"{key}={value!r}" for key, value in plain.items())


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)
