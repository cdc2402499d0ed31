"""The day a run is for: every step of the daily job reads the same `as_of` from its config."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg


def last_complete_day() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


class RunDay(dg.Config):
    """The UTC day to build the history up to and to send for; empty means yesterday."""

    as_of: str | None = None

    @property
    def day(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else last_complete_day()


# The steps (op names) of the daily job that take a RunDay.
RUN_DAY_STEPS = (
    "flywheel_dbt_models",
    "email__rendered_emails",
    "email__send_ledger",
    "email_feedback_models",
)


def run_day_config(as_of: date) -> dict:
    return {"ops": {step: {"config": {"as_of": as_of.isoformat()}} for step in RUN_DAY_STEPS}}
