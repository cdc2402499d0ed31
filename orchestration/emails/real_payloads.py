"""Real rows of `email.rpt_email_payloads`, read from the DuckDB warehouse read-only, for the
previews and test sends (`flywheel preview --send-key/--user`, the gallery's samples,
`flywheel send-test`).

Previews are shared with people who have no business seeing readers' addresses, so every
payload read here for a preview has its e-mail address replaced by `PREVIEW_ADDRESS`; the first
name stays (it is part of what the reader sees). The unsubscribe link of a preview is then
signed for that address, not for the reader's.

The gallery's samples, per trigger type (`SAMPLE_CASES`): the typical e-mail (the median of
its figure, with the most common pair of recommendations) and the extreme ones (the largest
figures, the longest first name, no recommendation, two recommendations). An e-mail's figure
is its `detail_value` (the number that fired it: 14 days in a row, 100 tasks), or the team's
hours saved for an e-mail without one (the expansion invite).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

PAYLOADS_TABLE = "email.rpt_email_payloads"
PREVIEW_ADDRESS = "reader@example.com"

_FIGURE = "coalesce(detail_value, team_hours_saved_28d)"


class WarehouseUnavailable(Exception):
    """The warehouse file is missing, locked by a writer, or has no payloads table."""


@dataclass(frozen=True)
class SampleCase:
    """One kind of sample: the rows it may be drawn from, and which of them comes first."""

    name: str  # the scenario name in the gallery
    description: str
    where: str  # a SQL predicate over the payload columns
    order_by: str  # the first row per trigger type in this order is the sample


SAMPLE_CASES = (
    SampleCase(
        "typical",
        "the median figure, the most common recommendations",
        "true",
        f"{_FIGURE} is not distinct from median_figure desc, recommendation_mix desc, "
        "triggered_on desc, send_key",
    ),
    SampleCase(
        "largest",
        "extreme: the largest figures",
        "true",
        f"{_FIGURE} desc nulls last, tasks_mtd desc nulls last, hours_saved_qtd desc nulls last, "
        "send_key",
    ),
    SampleCase(
        "longest-name",
        "extreme: the longest first name",
        "first_name is not null",
        "length(first_name) desc, send_key",
    ),
    SampleCase(
        "no-recommendation",
        "extreme: no recommendation",
        "recommendation_1 is null",
        "triggered_on desc, send_key",
    ),
    SampleCase(
        "two-recommendations",
        "extreme: two recommendations",
        "recommendation_2 is not null",
        "triggered_on desc, send_key",
    ),
)


@dataclass(frozen=True)
class RealPayload:
    case: str  # a SAMPLE_CASES name
    description: str
    payload: dict[str, Any]  # its address replaced
    figure: str  # e.g. "current_streak_days 14"
    emails: int  # how many e-mails of its trigger type the warehouse holds


@contextmanager
def read_only(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse, which must hold the payloads table."""
    if not warehouse.is_file():
        raise WarehouseUnavailable(f"no warehouse at {warehouse} (FLYWHEEL_WAREHOUSE)")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:  # e.g. a run holds the write lock
        raise WarehouseUnavailable(f"cannot open {warehouse} read-only: {error}") from None
    try:
        schema, table = PAYLOADS_TABLE.split(".")
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        if not found or not found[0]:
            raise WarehouseUnavailable(f"{warehouse} has no {PAYLOADS_TABLE}: run `flywheel run`")
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> list[dict]:
    cursor = con.execute(sql, list(params))
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def for_preview(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its reader's address replaced (see the module docstring)."""
    return {**payload, "email": PREVIEW_ADDRESS}


def payload_by_send_key(warehouse: Path, send_key: str) -> dict[str, Any] | None:
    """The payload row of one e-mail, as it is (real address included), or None."""
    with read_only(warehouse) as con:
        rows = _rows(con, f"select * from {PAYLOADS_TABLE} where send_key = ?", [send_key])
    return rows[0] if rows else None


def latest_payloads_of_user(warehouse: Path, user_id: str) -> list[dict[str, Any]]:
    """The user's latest e-mail of each trigger type they ever got, newest first."""
    with read_only(warehouse) as con:
        return _rows(
            con,
            f"select * from {PAYLOADS_TABLE} where user_id = ? "
            "qualify row_number() over ("
            "    partition by trigger_type order by triggered_on desc, send_key desc"
            ") = 1 "
            "order by triggered_on desc, trigger_type",
            [user_id],
        )


def sample_payloads_by_trigger(
    warehouse: Path, trigger_types: Sequence[str]
) -> dict[str, list[RealPayload]]:
    """Per trigger type that has payloads, its typical and extreme samples (SAMPLE_CASES, in
    that order; a row that is the sample of several cases appears once, under the first)."""
    samples: dict[str, list[RealPayload]] = {}
    seen: set[str] = set()
    with read_only(warehouse) as con:
        for case in SAMPLE_CASES:
            rows = _rows(
                con,
                f"""
                with payloads as (
                    select
                        *,
                        quantile_disc({_FIGURE}, 0.5) over (
                            partition by trigger_type
                        ) as median_figure,
                        count(*) over (
                            partition by trigger_type, recommendation_1, recommendation_2
                        ) as recommendation_mix,
                        count(*) over (partition by trigger_type) as trigger_emails
                    from {PAYLOADS_TABLE}
                    where trigger_type in (select unnest(?))
                )
                select * from payloads
                where {case.where}
                qualify row_number() over (
                    partition by trigger_type order by {case.order_by}
                ) = 1
                """,
                [list(trigger_types)],
            )
            for row in rows:
                if row["send_key"] in seen:
                    continue
                seen.add(row["send_key"])
                emails = row.pop("trigger_emails")
                del row["median_figure"], row["recommendation_mix"]
                figure = row["detail_value"]
                if figure is None:
                    figure = row["team_hours_saved_28d"]
                metric = row["detail_metric"] or "team_hours_saved_28d"
                what = f"{metric} {_plain(figure)}"
                samples.setdefault(row["trigger_type"], []).append(
                    RealPayload(
                        case.name,
                        f"{case.description} ({what}; one of {emails:,} e-mails; "
                        f"{row['send_key']})",
                        for_preview(row),
                        what,
                        emails,
                    )
                )
    return {t: samples[t] for t in trigger_types if t in samples}


def _plain(value: Any) -> str:
    """A figure without the decimal places DuckDB's DECIMAL gives it (14, 6.5)."""
    if value is None:
        return "none"
    return f"{round(float(value), 1):g}"
