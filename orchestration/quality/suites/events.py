"""The raw and staged events as they arrive: how recent the newest one is (freshness) and
whether an account suddenly sends far more than usual (volume)."""

import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import great_expectations.expectations as gxe

from orchestration.quality.suites.build import offending_row, suite
from orchestration.quality.thresholds import (
    VOLUME_MIN_BASELINE_EVENTS,
    VOLUME_MIN_HISTORY_DAYS,
    VOLUME_RECENT_DAYS,
    VOLUME_SPIKE_RATIO,
    VOLUME_TRAILING_DAYS,
)
from orchestration.quality.validation import SuiteBatch


def events_freshness_suites(
    con: duckdb.DuckDBPyConnection, *, day_end: datetime, max_hours_behind: Sequence[float]
) -> list[SuiteBatch]:
    """The newest raw event (timestamps as the files wrote them, offsets honoured) is at most
    so many hours before `day_end` (naive UTC): one row, read once, and one suite for each
    threshold of `max_hours_behind`."""
    frame = con.execute(
        """
        select
            max(try_cast(occurred_at as timestamptz)) as newest_event_at,
            date_diff('second', max(try_cast(occurred_at as timestamptz)), ?::timestamptz)
                / 3600.0 as hours_behind
        from raw.events
        """,
        [day_end.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))],
    ).df()
    row = "the newest event ({newest_event_at}) is {hours_behind:.0f} h before " + (
        f"the end of the run's day ({day_end:%Y-%m-%d %H:%M} UTC)"
    )
    return [
        SuiteBatch(
            "events_freshness",
            frame,
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


def events_volume_suite(con: duckdb.DuckDBPyConnection, *, end_day: date | None) -> SuiteBatch:
    """No account's event count (UTC days) on any of the `VOLUME_RECENT_DAYS` days up to
    end_day (default: the last day with events) is more than `VOLUME_SPIKE_RATIO` times its
    baseline: the median of its daily counts (zeros included) over the `VOLUME_TRAILING_DAYS`
    days before, raised to `VOLUME_MIN_BASELINE_EVENTS`. Accounts with less than
    `VOLUME_MIN_HISTORY_DAYS` days of history are not judged. One row per account and day.
    """
    frame = con.execute(
        f"""
        with

        daily as (
            select
                account_id,
                cast(occurred_at as date) as event_date,
                count(*) as events
            from staging.stg_product__events
            group by all
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
            select cast(unnest(generate_series(
                end_day - {VOLUME_TRAILING_DAYS + VOLUME_RECENT_DAYS - 1},
                end_day,
                interval 1 day
            )) as date) as event_date
            from bounds
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

        with_history as (
            select
                *,
                median(events) over history as trailing_median,
                count(*) over history as history_days
            from filled
            window history as (
                partition by account_id
                order by event_date
                rows between {VOLUME_TRAILING_DAYS} preceding and 1 preceding
            )
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
    ).df()
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
    return SuiteBatch("events volume", frame, expectations)
