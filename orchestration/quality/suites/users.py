"""The users' time zones, as the Python side reads them."""

import zoneinfo

import great_expectations.expectations as gxe

from orchestration.quality.suites.build import offending_row, suite
from orchestration.quality.validation import SuiteBatch, read_rows
from orchestration.warehouse import WarehouseConnection


def user_time_zones_suite(con: WarehouseConnection) -> SuiteBatch:
    """Every user's time zone is known to Python's zoneinfo, which the weekly report schedule
    computes local send times with. Staging falls back to UTC for a zone the warehouse does
    not know, but the warehouse's list and Python's are not the same list."""
    rows = read_rows(
        con,
        """
        select user_id, account_id, timezone
        from staging.stg_product__users
        order by user_id
        """,
    )
    expectations = suite(
        "user time zones",
        gxe.ExpectColumnValuesToBeInSet(
            column="timezone",
            value_set=sorted(zoneinfo.available_timezones()),
            description="time zone is an IANA name Python's zoneinfo knows",
            meta=offending_row(
                "user {user_id} (account {account_id}): time zone {timezone!r} is unknown to "
                "zoneinfo"
            ),
        ),
    )
    return SuiteBatch("user time zones", rows, expectations)
