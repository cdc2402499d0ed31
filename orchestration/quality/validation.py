"""Validate a DataFrame against an expectation suite with Great Expectations, and say in plain
words which expectation failed on which rows.

Great Expectations validates through its pandas data source: its SQL data source cannot run
its metrics on DuckDB (duckdb-engine), so the suites query the warehouse themselves, into
small frames (one row per account and day, per user, per ladder and level...), and hand those
frames over here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from orchestration.quality.thresholds import MAX_EXAMPLES

# The expectation's `meta` key holding a `str.format` template for one offending row of the
# frame, e.g. "account {account_id} had {events:,} events on {event_date}".
OFFENDING_ROW = "offending_row"


@dataclass(frozen=True)
class SuiteBatch:
    """An expectation suite and the frame it validates."""

    name: str
    frame: pd.DataFrame
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


def validate(batches: Iterable[SuiteBatch]) -> list[SuiteOutcome]:
    """Run each batch's suite on its frame in one ephemeral Great Expectations context."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    data_source = context.data_sources.add_pandas("flywheel_warehouse")
    outcomes = []
    for number, batch in enumerate(batches):
        definition = data_source.add_dataframe_asset(
            f"{number}_{batch.name}"
        ).add_batch_definition_whole_dataframe("whole_frame")
        result = definition.get_batch(batch_parameters={"dataframe": batch.frame}).validate(
            batch.suite, result_format={"result_format": "COMPLETE"}
        )
        outcomes.append(
            SuiteOutcome(
                suite=batch.name,
                rows=len(batch.frame),
                evaluated=len(result.results),
                failures=tuple(
                    _failure(batch, expectation_result)
                    for expectation_result in result.results
                    if not expectation_result.success
                ),
            )
        )
    return outcomes


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
    indexes = result.get("unexpected_index_list") or []
    if template and indexes:
        rows = batch.frame.loc[list(indexes)[:MAX_EXAMPLES]]
        examples = tuple(_format_row(template, row) for row in rows.to_dict("records"))
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
