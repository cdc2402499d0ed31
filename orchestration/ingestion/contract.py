"""The raw input contract: which tables exist, which columns each file must carry, and the
event vocabulary."""

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

EVENT_TYPES_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "event_types.csv"


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.columns + self.optional_columns


RAW_TABLES: dict[str, RawTable] = {
    table.name: table
    for table in (
        RawTable(
            "accounts",
            (
                "account_id",
                "account_name",
                "industry",
                "employee_count",
                "plan",
                "seats",
                "created_at",
                "country",
            ),
        ),
        RawTable(
            "users",
            (
                "user_id",
                "account_id",
                "email",
                "first_name",
                "locale",
                "timezone",
                "role",
                "created_at",
            ),
        ),
        RawTable(
            "events",
            ("event_id", "user_id", "account_id", "event_name", "occurred_at", "properties"),
        ),
        RawTable(
            "email_events",
            ("sg_event_id", "sg_message_id", "email", "event", "timestamp"),
            # send_key: a custom arg (events of messages Flywheel did not send have none);
            # url: the link a click event followed (its utm_content names the call to action).
            optional_columns=("send_key", "url"),
        ),
        RawTable("unsubscribes", ("email", "unsubscribed_at"), optional_columns=("group",)),
    )
}

SUPPORTED_SUFFIXES = (".csv", ".parquet")


@cache
def event_types() -> Mapping[str, str]:
    """The event vocabulary, the dbt seed `event_types` (the one list of event types): each
    `event_name`, in the seed's order, with the column of fct_user_activity_daily counting it."""
    with EVENT_TYPES_SEED.open(encoding="utf-8", newline="") as seed:
        rows = csv.DictReader(seed)
        return MappingProxyType({row["event_name"]: row["daily_count_column"] for row in rows})
