"""The payloads the sender reads, checked again before every send: the e-mail caps over
local days and weeks, no holdout user, an address for each."""

import great_expectations.expectations as gxe

from orchestration.quality.suites.build import offending_row, suite
from orchestration.quality.validation import SuiteBatch, read_rows
from orchestration.warehouse import WarehouseConnection


def payload_caps_suite(con: WarehouseConnection, *, daily_cap: int, weekly_cap: int) -> SuiteBatch:
    """No user has more payloads than the caps: per local day (`triggered_on`) and per 7 days
    (the day and the 6 before). One row per user with their busiest day and week."""
    rows = read_rows(
        con,
        """
        with

        daily as (
            select user_id, triggered_on, count(*) as emails
            from email.rpt_email_payloads
            group by 1, 2
        ),

        windows as (
            select
                *,
                sum(emails) over (
                    partition by user_id
                    order by triggered_on
                    range between interval '6 days' preceding and current row
                ) as emails_7d
            from daily
        )

        select
            user_id,
            max(emails) as max_emails_per_day,
            cast((array_agg(triggered_on order by emails desc, triggered_on))[1] as varchar)
                as busiest_day,
            cast(max(emails_7d) as bigint) as max_emails_per_7_days,
            cast((array_agg(triggered_on order by emails_7d desc, triggered_on))[1] as varchar)
                as busiest_7_days_end
        from windows
        group by user_id
        order by user_id
        """,
    )
    expectations = suite(
        "payload caps",
        gxe.ExpectColumnValuesToBeBetween(
            column="max_emails_per_day",
            max_value=daily_cap,
            description=f"at most {daily_cap} e-mail(s) per user and local day",
            meta=offending_row(
                "user {user_id} has {max_emails_per_day} payloads on {busiest_day} "
                f"(daily cap {daily_cap})"
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="max_emails_per_7_days",
            max_value=weekly_cap,
            description=f"at most {weekly_cap} e-mails per user in any 7 days",
            meta=offending_row(
                "user {user_id} has {max_emails_per_7_days} payloads in the 7 days to "
                f"{{busiest_7_days_end}} (weekly cap {weekly_cap})"
            ),
        ),
    )
    return SuiteBatch("payload caps", rows, expectations)


def payload_holdout_suite(con: WarehouseConnection) -> SuiteBatch:
    """No payload goes to a holdout user, and every payload's user is in dim_users (whose
    is_holdout decides): one row per user with payloads."""
    rows = read_rows(
        con,
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
        """,
    )
    expectations = suite(
        "payload holdout",
        gxe.ExpectColumnValuesToNotBeNull(
            column="is_holdout",
            description="every payload's user is in marts.dim_users",
            meta=offending_row(
                "user {user_id} has {payloads} payload(s), e.g. {example_send_key}, "
                "but is not in marts.dim_users"
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="is_holdout",
            value_set=[False],
            description="no payload goes to a holdout user",
            meta=offending_row(
                "holdout user {user_id} has {payloads} payload(s), e.g. {example_send_key}"
            ),
        ),
    )
    return SuiteBatch("payload holdout", rows, expectations)


def payload_recipients_suite(con: WarehouseConnection) -> SuiteBatch:
    """Every payload has a non-empty e-mail address (dbt tests only that it is not null): one
    row for the payloads with an address and one for those without, with an example send_key.
    """
    rows = read_rows(
        con,
        """
        select
            coalesce(trim(email), '') <> '' as has_email,
            count(*) as payloads,
            min(send_key) as example_send_key
        from email.rpt_email_payloads
        group by 1
        order by 1
        """,
    )
    expectations = suite(
        "payload recipients",
        gxe.ExpectColumnValuesToBeInSet(
            column="has_email",
            value_set=[True],
            description="every payload has an e-mail address",
            meta=offending_row(
                "{payloads:,} payload(s) without an e-mail address, e.g. {example_send_key}"
            ),
        ),
    )
    return SuiteBatch("payload recipients", rows, expectations)
