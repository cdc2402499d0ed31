"""Schedules: the daily build, once each UTC day has closed."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from orchestration.run_day import run_day_config

DAILY_BUILD_JOB = "daily_build"
# The dbt step, whose config carries the day the run builds (orchestration/dbt/assets.py).
DAILY_BUILD_OP = "flywheel_dbt_models"

# The UTC day a run builds up to, as a run tag (also set by `flywheel run`; read by checks).
AS_OF_TAG = "flywheel/as_of"
# Every run that writes to the DuckDB file carries this tag, so the run queue can allow one
# at a time (docs/operations.md, "One writer at a time").
WAREHOUSE_WRITER_TAGS = {"flywheel/warehouse": "writer"}


def last_closed_utc_day(instant: datetime) -> date:
    """The last UTC day that has ended at `instant` (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).date() - timedelta(days=1)


def daily_build_request(as_of: date, *, run_key: str, tags: dict[str, str] | None = None):
    """A run of `daily_build` for `as_of` (UTC): every step of the job gets the same day."""
    return dg.RunRequest(
        run_key=run_key,
        run_config=run_day_config(as_of),
        tags={AS_OF_TAG: as_of.isoformat(), **WAREHOUSE_WRITER_TAGS, **(tags or {})},
    )


def _tick(context: dg.ScheduleEvaluationContext) -> datetime:
    """The tick's scheduled time: a late or retried evaluation still computes the same run."""
    return context.scheduled_execution_time or datetime.now(UTC)


@dg.schedule(
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    job_name=DAILY_BUILD_JOB,
    description="Every day at 00:30 UTC: load new raw files and build everything up to the end "
    "of the UTC day that just closed (the run's as_of), then send what is due on it.",
)
def daily_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = last_closed_utc_day(_tick(context))
    return daily_build_request(as_of, run_key=f"daily_build:{as_of.isoformat()}")


schedules = [daily_build_schedule]
