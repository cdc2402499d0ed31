"""Schedules: the daily build once each UTC day has closed, and the weekly report at a local
hour in every time zone."""

from datetime import UTC, date, datetime

import dagster as dg

from orchestration.emails import weekly_report
from orchestration.jobs import daily_build
from orchestration.jobs import weekly_report as weekly_report_job
from orchestration.quality.checks import EMAIL_PAYLOADS
from orchestration.settings import get_settings

RENDER_STEP = "email__rendered_emails"

daily_build_schedule = dg.build_schedule_from_partitioned_job(
    daily_build,
    name="daily_build_schedule",
    hour_of_day=0,
    minute_of_hour=30,
    description="Every day at 00:30 UTC: the partition of the UTC day that just closed: load "
    "new raw files, build everything up to its end, then send what is due on it.",
)


def weekly_report_config(at: datetime) -> dict:
    return {"ops": {RENDER_STEP: {"config": {"weekly_reports_at": at.isoformat()}}}}


def weekly_report_request(week_end: date, at: datetime, *, run_key: str) -> dg.RunRequest:
    """A run that sends the reports of the week ending `week_end` that are due at `at`."""
    return dg.RunRequest(
        run_key=run_key, partition_key=week_end.isoformat(), run_config=weekly_report_config(at)
    )


@dg.schedule(
    # Every 15 minutes: zones are offset by whole hours, half hours and quarter hours.
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    job=weekly_report_job,
    description="Sends each weekly report on Monday at FLYWHEEL_WEEKLY_REPORT_HOUR in the "
    "user's own time zone: a run whenever that hour starts in some zone, once the week's "
    "payloads are built. Each run also sends reports whose hour passed while the payloads "
    "were not ready (east of UTC, Monday morning comes before the UTC Sunday has closed).",
)
def weekly_report_schedule(context: dg.ScheduleEvaluationContext):
    at = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
    hour = get_settings().weekly_report_hour
    zones = weekly_report.zones_at_send_time(at, hour)
    if not zones:
        return dg.SkipReason(f"{at:%a %H:%M} UTC is not Monday {hour:02d}:00 in any time zone")
    monday = at.astimezone(weekly_report.zone(zones[0])).date()
    week_end = weekly_report.reported_week_end(monday)
    # the payloads' partitions say which weeks have their reports built
    built = context.instance.get_materialized_partitions(EMAIL_PAYLOADS)
    if week_end.isoformat() not in built:
        return dg.SkipReason(
            f"Monday {hour:02d}:00 in {len(zones)} zone(s) ({', '.join(zones[:3])}, ...), but "
            f"the payloads of the week ending {week_end} are not built yet: a later tick "
            "sends those reports once the daily build of that day has run"
        )
    return weekly_report_request(week_end, at, run_key=f"weekly_report:{at:%Y-%m-%dT%H:%M}Z")


schedules = [daily_build_schedule, weekly_report_schedule]
