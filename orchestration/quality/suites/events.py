"""The raw and staged events as they arrive: how recent the newest one is (freshness) and
whether an account suddenly sends far more than usual (volume)."""

import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime

import great_expectations.expectations as gxe

from orchestration.quality.suites.build import offending_row, suite
from orchestration.quality.thresholds import (
    VOLUME_MIN_BASELINE_EVENTS,
    VOLUME_MIN_HISTORY_DAYS,
    VOLUME_RECENT_DAYS,
    VOLUME_SPIKE_RATIO,
    VOLUME_TRAILING_DAYS,
)
from orchestration.quality.validation import SuiteBatch, read_rows
from orchestration.warehouse import WarehouseConnection, dialect

# The newest raw event's time (the text as the file wrote it, offsets honoured; null where it
# is not a timestamp). PostgreSQL has no try_cast: the loader creates raw.try_timestamptz().
NEWEST_EVENT_AT = {
    "duckdb": "try_cast(occurred_at as timestamptz)",
    "postgres": "raw.try_timestamptz(occurred_at)",
}


def events_freshness_suites(
    con: WarehouseConnection, *, day_end: datetime, max_hours_behind: Sequence[float]
) -> list[SuiteBatch]:
    """The newest raw event (timestamps as the files wrote them, offsets honoured) is at most
    so many hours before `day_end` (naive UTC): one row, read once, and one suite for each
    threshold of `max_hours_behind`."""
    parsed = NEWEST_EVENT_AT[dialect(con)]
    rows = read_rows(
        con,
        f"""
        select
            max({parsed}) as newest_event_at,
            extract(epoch from ?::timestamptz - max({parsed})) / 3600.0 as hours_behind
        from raw.events
        """,
        [day_end.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))],
    )
    row = "the newest event ({newest_event_at}) is {hours_behind:.0f} h before " + (
        f"the end of the run's day ({day_end:%Y-%m-%d %H:%M} UTC)"
    )
    return [
        SuiteBatch(
            "events_freshness",
            rows,
            suite(
                f"events freshness ({hours:g} h)",
                gxe.ExpectColumnValuesToNotBeNull(
                    column="newest_event_at",
                    description="raw.events holds at least one event with a readable timestamp",
                ),
                gxe.ExpectColumnValuesToBeBetween(
                    column="hours_behind",
                    max_value=hours,
                    description=f"the newest event is at most {hours:g} h old",
                    meta=offending_row(row),
                ),
            ),
        )
        for hours in max_hours_behind
    ]


def events_volume_suite(con: WarehouseConnection, *, end_day: date | None) -> SuiteBatch:
    """No account's event count (UTC days) on any of the `VOLUME_RECENT_DAYS` days up to
    end_day (default: the last day with events) is more than `VOLUME_SPIKE_RATIO` times its
    baseline: the median of its daily counts (zeros included) over the `VOLUME_TRAILING_DAYS`
    days before, raised to `VOLUME_MIN_BASELINE_EVENTS`. Accounts with less than
    `VOLUME_MIN_HISTORY_DAYS` days of history are not judged. One row per account and day.
    """
    rows = read_rows(
        con,
        f"""
        with

        daily as (
            select
                account_id,
                cast(occurred_at as date) as event_date,
                count(*) as events
            from staging.stg_product__events
            group by 1, 2
        ),

        bounds as (
            select coalesce(cast($end_day as date), max(event_date)) as end_day
            from daily
        ),

        first_days as (
            select account_id, min(event_date) as first_day
            from daily
            group by account_id
        ),

        days as (
            select cast(bounds.end_day - cast(offsets.day_offset as integer) as date) as event_date
            from bounds
            cross join
                generate_series(0, {VOLUME_TRAILING_DAYS + VOLUME_RECENT_DAYS - 1})
                    as offsets (day_offset)
        ),

        -- every day of the window from the account's first event on: a quiet day counts 0
        account_days as (
            select first_days.account_id, days.event_date
            from first_days
            cross join days
            where days.event_date >= first_days.first_day
        ),

        filled as (
            select
                account_days.account_id,
                account_days.event_date,
                coalesce(daily.events, 0) as events
            from account_days
            left join daily
                on
                    account_days.account_id = daily.account_id
                    and account_days.event_date = daily.event_date
        ),

        -- the days before each day (a self-join: PostgreSQL has no median over a window)
        with_history as (
            select
                filled.account_id,
                filled.event_date,
                filled.events,
                percentile_cont(0.5) within group (order by history.events) as trailing_median,
                count(history.events) as history_days
            from filled
            left join filled as history
                on
                    filled.account_id = history.account_id
                    and history.event_date
                    between filled.event_date - {VOLUME_TRAILING_DAYS} and filled.event_date - 1
            group by 1, 2, 3
        )

        select
            account_id,
            cast(event_date as varchar) as event_date,
            events,
            history_days,
            trailing_median,
            greatest(trailing_median, {VOLUME_MIN_BASELINE_EVENTS}) as baseline_events,
            events / greatest(trailing_median, {VOLUME_MIN_BASELINE_EVENTS}) as spike_ratio
        from with_history
        cross join bounds
        where
            event_date > end_day - {VOLUME_RECENT_DAYS}
            and history_days >= {VOLUME_MIN_HISTORY_DAYS}
        order by account_id, event_date
        """,
        {"end_day": end_day},
    )
    expectations = suite(
        "events volume",
        gxe.ExpectColumnValuesToBeBetween(
            column="spike_ratio",
            max_value=VOLUME_SPIKE_RATIO,
            description=(
                f"no account has more than {VOLUME_SPIKE_RATIO:g}× its usual daily events "
                f"({VOLUME_TRAILING_DAYS}-day median, at least {VOLUME_MIN_BASELINE_EVENTS})"
            ),
            meta=offending_row(
                "account {account_id} had {events:,} events on {event_date}, "
                "{spike_ratio:.1f}× its " + f"{VOLUME_TRAILING_DAYS}-day median "
                "({trailing_median:,.0f}; baseline {baseline_events:,.0f})"
            ),
        ),
    )
    return SuiteBatch("events volume", rows, expectations)
