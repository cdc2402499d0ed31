"""Schedules: the daily build once each UTC day has closed, and the weekly report at a local
hour in every user's own time zone.

The weekly report goes out on Monday at 08:00 *local* time. Monday 08:00 starts in
Pacific/Kiritimati (UTC+14, Sunday 18:00 UTC) and ends in Etc/GMT+12 (UTC-12, Monday 20:00
UTC), and daylight saving time moves it by an hour in every zone that observes it. So the
schedule ticks every hour, works out which time zones are in that local hour at the tick, and
requests one send run for exactly those zones (or skips). A zone whose offset is not a whole
number of hours (Asia/Kolkata, UTC+5:30) gets its report at the first tick inside its local
hour (08:30).

The zones are all of `zoneinfo.available_timezones()` rather than the distinct time zones of
`marts.dim_users`: a schedule tick must not open the DuckDB file (a running build holds its
only write lock), and a run for a zone nobody lives in sends nothing. A user's time zone that
zoneinfo does not know is flagged by the `users_are_valid` check.
"""

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import dagster as dg

DAILY_BUILD_JOB = "daily_build"
# The op whose config carries the day to build (orchestration/dbt/assets.py).
DAILY_BUILD_OP = "flywheel_dbt_models"
WEEKLY_REPORT_JOB = "weekly_report_send"
# The op whose config takes the time zones and the local date of a weekly send.
WEEKLY_REPORT_OP = "send_emails"

# The UTC day a run builds up to, as a run tag (also set by `flywheel run`; read by checks).
AS_OF_TAG = "flywheel/as_of"
# Every run that writes to the DuckDB file carries this tag, so the run queue can allow one
# at a time (docs/operations.md, "One writer at a time").
WAREHOUSE_WRITER_TAGS = {"flywheel/warehouse": "writer"}

# When the weekly report goes out, in each user's own time zone.
WEEKLY_REPORT_WEEKDAY = 0  # Monday (datetime.weekday())
WEEKLY_REPORT_LOCAL_HOUR = 8


def last_closed_utc_day(instant: datetime) -> date:
    """The last UTC day that has ended at `instant` (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).date() - timedelta(days=1)


def daily_build_request(as_of: date, *, run_key: str, tags: dict[str, str] | None = None):
    """A run of `daily_build` that builds the history up to the end of `as_of` (UTC)."""
    return dg.RunRequest(
        run_key=run_key,
        run_config={"ops": {DAILY_BUILD_OP: {"config": {"as_of": as_of.isoformat()}}}},
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


def timezones_at_local_hour(
    instant_utc: datetime, weekday: int, hour: int, zones: Iterable[str]
) -> list[str]:
    """The zones whose local time at `instant_utc` (naive means UTC) is on `weekday`
    (0 = Monday) within the hour `hour`:00-`hour`:59, sorted."""
    if instant_utc.tzinfo is None:
        instant_utc = instant_utc.replace(tzinfo=UTC)
    matching = []
    for zone in zones:
        local = instant_utc.astimezone(zoneinfo.ZoneInfo(zone))
        if local.weekday() == weekday and local.hour == hour:
            matching.append(zone)
    return sorted(matching)


def report_timezones() -> list[str]:
    """Every IANA time zone Python knows (see the module docstring for why not the users')."""
    return sorted(zoneinfo.available_timezones())


@dg.schedule(
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    job_name=WEEKLY_REPORT_JOB,
    description="Every hour: send the weekly report to the time zones where it is now Monday "
    "08:00-08:59 local time; skips the hours where it is that time nowhere.",
)
def weekly_report_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    tick = _tick(context).astimezone(UTC)
    zones = timezones_at_local_hour(
        tick, WEEKLY_REPORT_WEEKDAY, WEEKLY_REPORT_LOCAL_HOUR, report_timezones()
    )
    if not zones:
        return dg.SkipReason(
            f"no time zone is at weekday {WEEKLY_REPORT_WEEKDAY} "
            f"{WEEKLY_REPORT_LOCAL_HOUR:02d}:00 local time at {tick:%Y-%m-%d %H:%M} UTC"
        )
    # Zones in the same local hour at one instant share the local date.
    report_date = tick.astimezone(zoneinfo.ZoneInfo(zones[0])).date()
    return dg.RunRequest(
        run_key=f"weekly_report:{report_date:%G-W%V}:{tick:%Y-%m-%dT%H:%MZ}",
        run_config={
            "ops": {
                WEEKLY_REPORT_OP: {
                    "config": {"timezones": zones, "as_of": report_date.isoformat()}
                }
            }
        },
        tags={
            "flywheel/report_date": report_date.isoformat(),
            "flywheel/report_timezones": str(len(zones)),
            **WAREHOUSE_WRITER_TAGS,
        },
    )


schedules = [daily_build_schedule, weekly_report_schedule]
