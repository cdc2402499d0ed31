"""The raw input contract: which tables exist and which columns each file must carry."""

from dataclasses import dataclass


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
