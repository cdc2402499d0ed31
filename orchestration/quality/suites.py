"""The expectation suites: one function per suite, which reads what it validates from the
warehouse (an open DuckDB connection) and returns the frame with its suite.

Large tables are validated through small aggregates computed in the warehouse (events per
account and day, payloads per user, rows per ladder and level), never row by row in pandas.
Each expectation carries a description (what must hold) and an `offending_row` template (how
to name a row that breaks it), which checks.py turns into the check's message.
"""

import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.emails.i18n import SUPPORTED_LOCALES
from orchestration.quality.thresholds import (
    MAX_EXAMPLES,
    PERCENTILE_RANK_MAX,
    PERCENTILE_RANK_MIN,
    VOLUME_MIN_BASELINE_EVENTS,
    VOLUME_MIN_HISTORY_DAYS,
    VOLUME_RECENT_DAYS,
    VOLUME_SPIKE_RATIO,
    VOLUME_TRAILING_DAYS,
)
from orchestration.quality.validation import OFFENDING_ROW, SuiteBatch

# BCP-47 as staging normalises it: language[-region], lower case (`en`, `fr-ca`, `es-419`).
LOCALE_PATTERN = r"^[a-z]{2,3}(?:-(?:[a-z]{2}|[0-9]{3}))?$"


def _suite(name: str, *expectations: gxe.Expectation) -> gx.ExpectationSuite:
    # Passed to the constructor: add_expectation() would need an active data context.
    return gx.ExpectationSuite(name=name, expectations=list(expectations))


def _names(row: str) -> dict[str, str]:
    return {OFFENDING_ROW: row}


def _column(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    return [row[0] for row in con.execute(sql).fetchall()]


# --- raw.events: freshness ------------------------------------------------------------------


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
            _suite(
                f"events freshness ({hours:g} h)",
                gxe.ExpectColumnValuesToNotBeNull(
                    column="newest_event_at",
                    description="raw.events holds at least one event with a readable timestamp",
                ),
                gxe.ExpectColumnValuesToBeBetween(
                    column="hours_behind",
                    max_value=hours,
                    description=f"the newest event is at most {hours:g} h old",
                    meta=_names(row),
                ),
            ),
        )
        for hours in max_hours_behind
    ]


# --- staging.stg_product__events -----------------------------------------------------------


def events_integrity_suite(
    con: duckdb.DuckDBPyConnection, *, now: datetime, tolerance_minutes: int
) -> SuiteBatch:
    """Ids present, event_id unique, no event after its load time or after `now` (naive UTC),
    beyond the dbt var `future_tolerance_minutes`: one row of counts over every staged event."""
    frame = con.execute(
        f"""
        with

        events as (
            select
                event_id,
                user_id,
                account_id,
                occurred_at,
                epoch(occurred_at) - epoch(loaded_at) as seconds_after_load
            from staging.stg_product__events
        ),

        duplicates as (
            select event_id
            from events
            where event_id is not null
            group by event_id
            having count(*) > 1
            order by event_id
            limit {MAX_EXAMPLES}
        )

        select
            count(*) as staged_events,
            count(*) - count(event_id) as missing_event_ids,
            count(*) - count(user_id) as missing_user_ids,
            count(*) - count(account_id) as missing_account_ids,
            count(event_id) as event_ids,
            count(distinct event_id) as distinct_event_ids,
            (select string_agg(event_id, ', ') from duplicates) as duplicated_event_ids,
            cast(max(occurred_at) as varchar) as latest_occurred_at,
            arg_max(event_id, occurred_at) as latest_event_id,
            (epoch(max(occurred_at)) - epoch(cast($now as timestamp))) / 60
                as latest_minutes_after_check,
            max(seconds_after_load) / 60 as max_minutes_after_load,
            arg_max(event_id, seconds_after_load) as max_after_load_event_id
        from events
        """,
        {"now": now},
    ).df()
    suite = _suite(
        "events integrity",
        *(
            gxe.ExpectColumnValuesToBeBetween(
                column=f"missing_{column}s",
                min_value=0,
                max_value=0,
                description=f"every staged event has a {column}",
                meta=_names(f"{{missing_{column}s:,}} staged event(s) have no {column}"),
            )
            for column in ("event_id", "user_id", "account_id")
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="event_ids",
            column_B="distinct_event_ids",
            description="event_id is unique among staged events",
            meta=_names(
                "{event_ids:,} event_ids but {distinct_event_ids:,} distinct; "
                "duplicated: {duplicated_event_ids}"
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="max_minutes_after_load",
            max_value=tolerance_minutes,
            description=f"no event occurred more than {tolerance_minutes} min after its load",
            meta=_names(
                "event {max_after_load_event_id} occurred {max_minutes_after_load:,.0f} "
                "minutes after it was loaded"
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="latest_minutes_after_check",
            max_value=tolerance_minutes,
            description=f"no event is in the future (tolerance {tolerance_minutes} min)",
            meta=_names(
                "event {latest_event_id} occurred at {latest_occurred_at} UTC, "
                "{latest_minutes_after_check:,.0f} minutes in the future"
            ),
        ),
    )
    return SuiteBatch("events integrity", frame, suite)


def events_vocabulary_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """Every staged event_name is in the vocabulary of seed `event_types`."""
    frame = con.execute(
        """
        select event_name, count(*) as events
        from staging.stg_product__events
        group by event_name
        order by event_name
        """
    ).df()
    vocabulary = _column(con, "select event_name from seeds.event_types")
    suite = _suite(
        "events vocabulary",
        gxe.ExpectColumnValuesToNotBeNull(
            column="event_name",
            description="every staged event has an event_name",
            meta=_names("{events:,} event(s) without an event_name"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="event_name",
            value_set=vocabulary,
            description="event_name is in seed event_types",
            meta=_names("{events:,} event(s) named {event_name!r}, not in seed event_types"),
        ),
    )
    return SuiteBatch("events vocabulary", frame, suite)


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
    suite = _suite(
        "events volume",
        gxe.ExpectColumnValuesToBeBetween(
            column="spike_ratio",
            max_value=VOLUME_SPIKE_RATIO,
            description=(
                f"no account has more than {VOLUME_SPIKE_RATIO:g}× its usual daily events "
                f"({VOLUME_TRAILING_DAYS}-day median, at least {VOLUME_MIN_BASELINE_EVENTS})"
            ),
            meta=_names(
                "account {account_id} had {events:,} events on {event_date}, "
                "{spike_ratio:.1f}× its " + f"{VOLUME_TRAILING_DAYS}-day median "
                "({trailing_median:,.0f}; baseline {baseline_events:,.0f})"
            ),
        ),
    )
    return SuiteBatch("events volume", frame, suite)


# --- staging.stg_product__users and stg_product__accounts ----------------------------------


def users_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """User ids present and unique; language in seed `supported_locales`; locale normalised;
    time zone present and known to Python's zoneinfo (the weekly schedule uses it)."""
    frame = con.execute(
        """
        select user_id, account_id, language, locale, timezone
        from staging.stg_product__users
        order by user_id
        """
    ).df()
    languages = _column(con, "select language from seeds.supported_locales")
    user = "user {user_id} (account {account_id})"
    suite = _suite(
        "users",
        gxe.ExpectColumnValuesToNotBeNull(
            column="user_id",
            description="every user has a user_id",
            meta=_names("a user of account {account_id} has no user_id"),
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column="user_id",
            description="user_id is unique",
            meta=_names("user_id {user_id!r} appears more than once"),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="account_id",
            description="every user has an account_id",
            meta=_names("user {user_id} has no account_id"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="language",
            value_set=languages,
            description="language is in seed supported_locales",
            meta=_names(user + ": language {language!r}"),
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column="locale",
            regex=LOCALE_PATTERN,
            description="locale is normalised BCP-47 (language[-region], lower case)",
            meta=_names(user + ": locale {locale!r}"),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="timezone",
            description="every user has a time zone",
            meta=_names(user + " has no time zone"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="timezone",
            value_set=sorted(zoneinfo.available_timezones()),
            description="time zone is an IANA name Python's zoneinfo knows",
            meta=_names(user + ": time zone {timezone!r} is unknown to zoneinfo"),
        ),
    )
    return SuiteBatch("users", frame, suite)


def accounts_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """Account ids present and unique; employee_count not negative."""
    frame = con.execute(
        """
        select account_id, employee_count
        from staging.stg_product__accounts
        order by account_id
        """
    ).df()
    suite = _suite(
        "accounts",
        gxe.ExpectColumnValuesToNotBeNull(
            column="account_id",
            description="every account has an account_id",
            meta=_names("an account has no account_id (employee_count {employee_count})"),
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column="account_id",
            description="account_id is unique",
            meta=_names("account_id {account_id!r} appears more than once"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="employee_count",
            min_value=0,
            description="employee_count is not negative",
            meta=_names("account {account_id}: employee_count {employee_count}"),
        ),
    )
    return SuiteBatch("accounts", frame, suite)


# --- marts ---------------------------------------------------------------------------------


def cohort_percentiles_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """percentile_rank of fct_cohort_benchmarks is within 0-100 (null = not published):
    one row per metric and month with the lowest and highest rank and their accounts."""
    frame = con.execute(
        f"""
        select
            metric,
            strftime(month, '%Y-%m') as month,
            count(*) as benchmark_rows,
            count(*) filter (
                where percentile_rank < {PERCENTILE_RANK_MIN}
                or percentile_rank > {PERCENTILE_RANK_MAX}
            ) as out_of_range_rows,
            min(percentile_rank) as min_percentile_rank,
            arg_min(account_id, percentile_rank) as min_percentile_account,
            max(percentile_rank) as max_percentile_rank,
            arg_max(account_id, percentile_rank) as max_percentile_account
        from marts.fct_cohort_benchmarks
        group by all
        order by metric, month
        """
    ).df()
    in_range = f"{PERCENTILE_RANK_MIN:g}-{PERCENTILE_RANK_MAX:g}"
    suite = _suite(
        "cohort percentiles",
        *(
            gxe.ExpectColumnValuesToBeBetween(
                column=f"{end}_percentile_rank",
                min_value=PERCENTILE_RANK_MIN,
                max_value=PERCENTILE_RANK_MAX,
                description=f"percentile_rank is within {in_range}",
                meta=_names(
                    f"account {{{end}_percentile_account}} has percentile_rank "
                    f"{{{end}_percentile_rank:g}} for {{metric}} in {{month}} "
                    f"({{out_of_range_rows}} row(s) of that month outside {in_range})"
                ),
            )
            for end in ("min", "max")
        ),
    )
    return SuiteBatch("cohort percentiles", frame, suite)


def levels_in_ladders_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """Every level, next_level and highest_level_ever of fct_gamification_levels is a level
    of its own ladder in seed `gamification_levels`: one row per ladder, column and value."""
    frame = con.execute(
        """
        with

        levels as (
            select ladder, level, next_level, highest_level_ever, entity_id, as_of_date
            from marts.fct_gamification_levels
        ),

        named_levels as (
            unpivot levels
            on level, next_level, highest_level_ever
            into name level_column value level_value
        )

        select
            ladder,
            level_column,
            level_value,
            ladder || ' / ' || level_value as ladder_level,
            count(*) as level_rows,
            min(entity_id) as example_entity_id,
            cast(min(as_of_date) as varchar) as first_as_of_date
        from named_levels
        group by all
        order by all
        """
    ).df()
    ladder_levels = _column(
        con, "select ladder || ' / ' || level from seeds.gamification_levels order by all"
    )
    suite = _suite(
        "levels in ladders",
        gxe.ExpectColumnValuesToNotBeNull(
            column="ladder_level",
            description="every level belongs to a ladder",
            meta=_names("{level_column} {level_value!r} has no ladder ({level_rows:,} row(s))"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="ladder_level",
            value_set=ladder_levels,
            description="(ladder, level) is a pair of seed gamification_levels",
            meta=_names(
                "{level_column} {level_value!r} is not a level of ladder {ladder!r} "
                "({level_rows:,} row(s), e.g. {example_entity_id} on {first_as_of_date})"
            ),
        ),
    )
    return SuiteBatch("levels in ladders", frame, suite)


# --- email.rpt_email_payloads --------------------------------------------------------------


def payload_caps_suite(
    con: duckdb.DuckDBPyConnection, *, daily_cap: int, weekly_cap: int
) -> SuiteBatch:
    """No user has more payloads than the caps: per local day (`triggered_on`) and per 7 days
    (the day and the 6 before). One row per user with their busiest day and week."""
    frame = con.execute(
        """
        with

        daily as (
            select user_id, triggered_on, count(*) as emails
            from email.rpt_email_payloads
            group by all
        ),

        windows as (
            select
                *,
                sum(emails) over (
                    partition by user_id
                    order by triggered_on
                    range between interval 6 days preceding and current row
                ) as emails_7d
            from daily
        )

        select
            user_id,
            max(emails) as max_emails_per_day,
            cast(arg_max(triggered_on, emails) as varchar) as busiest_day,
            cast(max(emails_7d) as bigint) as max_emails_per_7_days,
            cast(arg_max(triggered_on, emails_7d) as varchar) as busiest_7_days_end
        from windows
        group by user_id
        order by user_id
        """
    ).df()
    suite = _suite(
        "payload caps",
        gxe.ExpectColumnValuesToBeBetween(
            column="max_emails_per_day",
            max_value=daily_cap,
            description=f"at most {daily_cap} e-mail(s) per user and local day",
            meta=_names(
                "user {user_id} has {max_emails_per_day} payloads on {busiest_day} "
                f"(daily cap {daily_cap})"
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="max_emails_per_7_days",
            max_value=weekly_cap,
            description=f"at most {weekly_cap} e-mails per user in any 7 days",
            meta=_names(
                "user {user_id} has {max_emails_per_7_days} payloads in the 7 days to "
                f"{{busiest_7_days_end}} (weekly cap {weekly_cap})"
            ),
        ),
    )
    return SuiteBatch("payload caps", frame, suite)


def payload_holdout_suite(con: duckdb.DuckDBPyConnection) -> SuiteBatch:
    """No payload goes to a holdout user, and every payload's user is in dim_users (whose
    is_holdout decides): one row per user with payloads."""
    frame = con.execute(
        """
        select
            payloads.user_id,
            count(*) as payloads,
            min(payloads.send_key) as example_send_key,
            bool_or(users.is_holdout) as is_holdout
        from email.rpt_email_payloads as payloads
        left join marts.dim_users as users
            on payloads.user_id = users.user_id
        group by payloads.user_id
        order by payloads.user_id
        """
    ).df()
    suite = _suite(
        "payload holdout",
        gxe.ExpectColumnValuesToNotBeNull(
            column="is_holdout",
            description="every payload's user is in marts.dim_users",
            meta=_names(
                "user {user_id} has {payloads} payload(s), e.g. {example_send_key}, "
                "but is not in marts.dim_users"
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="is_holdout",
            value_set=[False],
            description="no payload goes to a holdout user",
            meta=_names(
                "holdout user {user_id} has {payloads} payload(s), e.g. {example_send_key}"
            ),
        ),
    )
    return SuiteBatch("payload holdout", frame, suite)


def payload_recipients_suite(
    con: duckdb.DuckDBPyConnection, *, locales: tuple[str, ...] = SUPPORTED_LOCALES
) -> SuiteBatch:
    """Every payload has a non-empty e-mail address and a locale the templates are
    translated into: one row per locale and has_email, with an example send_key."""
    frame = con.execute(
        """
        select
            locale,
            coalesce(trim(email), '') <> '' as has_email,
            count(*) as payloads,
            min(send_key) as example_send_key
        from email.rpt_email_payloads
        group by all
        order by all
        """
    ).df()
    suite = _suite(
        "payload recipients",
        gxe.ExpectColumnValuesToBeInSet(
            column="has_email",
            value_set=[True],
            description="every payload has an e-mail address",
            meta=_names(
                "{payloads:,} payload(s) without an e-mail address, e.g. {example_send_key}"
            ),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="locale",
            description="every payload has a locale",
            meta=_names("{payloads:,} payload(s) without a locale, e.g. {example_send_key}"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="locale",
            value_set=list(locales),
            description=f"locale is one the templates are translated into ({', '.join(locales)})",
            meta=_names("{payloads:,} payload(s) in locale {locale!r}, e.g. {example_send_key}"),
        ),
    )
    return SuiteBatch("payload recipients", frame, suite)
