"""Schedules: the daily build once each UTC day has closed, and the weekly report at a local
hour in every time zone."""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from orchestration.emails import weekly_report
from orchestration.emails.delivery import DeliveryRules
from orchestration.jobs import (
    WAREHOUSE_WRITER_TAGS,
    WEEKLY_SEND_ASSETS,
    WEEKLY_SEND_CHECKS,
    daily_build,
)
from orchestration.jobs import weekly_report as weekly_report_job
from orchestration.partitions import run_last_day
from orchestration.quality.checks import EMAIL_PAYLOADS
from orchestration.sensors import IN_PROGRESS

RENDER_STEP = "email__rendered_emails"
DBT_STEP = "flywheel_dbt_models"

daily_build_schedule = dg.build_schedule_from_partitioned_job(
    daily_build,
    name="daily_build_schedule",
    hour_of_day=0,
    minute_of_hour=30,
    description="Every day at 00:30 UTC: the partition of the UTC day that just closed: load "
    "new raw files, build everything up to its end, then send what is due on it.",
)


def weekly_report_config(at: datetime, *, rebuild: bool = False) -> dict:
    """The run config of a weekly report run at `at`; with `rebuild`, its dbt step holds the
    events up to `at`."""
    ops = {RENDER_STEP: {"config": {"weekly_reports_at": at.isoformat()}}}
    if rebuild:
        ops[DBT_STEP] = {"config": {"events_through": at.isoformat()}}
    return {"ops": ops}


def weekly_report_request(
    week_end: date, at: datetime, *, run_key: str | None, rebuild: bool
) -> dg.RunRequest:
    """A run that sends the reports of the week ending `week_end` that are due at `at`: with
    `rebuild`, the whole weekly_report job, which first rebuilds that Sunday with the events
    up to `at`; without, its render and send steps on the payloads already built, after the
    checks that guard the inbox."""
    if rebuild:
        return dg.RunRequest(
            run_key=run_key,
            partition_key=week_end.isoformat(),
            run_config=weekly_report_config(at, rebuild=True),
        )
    return dg.RunRequest(
        run_key=run_key,
        partition_key=week_end.isoformat(),
        run_config=weekly_report_config(at),
        asset_selection=list(WEEKLY_SEND_ASSETS),
        asset_check_keys=list(WEEKLY_SEND_CHECKS),
    )


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def run_events_through(run: dg.DagsterRun) -> datetime | None:
    """The instant the events of a run's build end: its dbt config `events_through`, else the
    end of its partition's last day (None for an unpartitioned run)."""
    config = run.run_config.get("ops", {}).get(DBT_STEP, {}).get("config", {})
    if config.get("events_through"):
        at = datetime.fromisoformat(config["events_through"])
        return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    last_day = run_last_day(run)
    return _day_end(last_day) if last_day else None


def _builds_payloads(run: dg.DagsterRun) -> bool:
    return run.asset_selection is None or EMAIL_PAYLOADS in run.asset_selection


def built_events_through(instance: dg.DagsterInstance) -> datetime | None:
    """The instant up to which the warehouse's payloads hold the events once the builds queued
    or running have finished: those of the newest of these builds, else those of the build
    that last materialized the payloads (None: never built). A run requested now starts after
    them: the run queue lets one warehouse writer run at a time, in order."""
    in_flight = instance.get_runs(
        filters=dg.RunsFilter(statuses=IN_PROGRESS, tags=WAREHOUSE_WRITER_TAGS)
    )
    builds = [run for run in in_flight if _builds_payloads(run)]
    if builds:
        return run_events_through(builds[0])  # the newest first
    event = instance.get_latest_materialization_event(EMAIL_PAYLOADS)
    if event is None:
        return None
    run = instance.get_run_by_id(event.run_id) if event.run_id else None
    if run is not None:
        return run_events_through(run)
    partition = event.dagster_event.partition if event.dagster_event else None
    return _day_end(date.fromisoformat(partition)) if partition else None


@dg.schedule(
    # Every 15 minutes: zones are offset by whole hours, half hours and quarter hours.
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    job=weekly_report_job,
    description="Sends each weekly report on Monday at the weekly report hour (resource "
    "delivery_rules, FLYWHEEL_WEEKLY_REPORT_HOUR) in the "
    "user's own time zone, from a build that holds the user's whole local week: a run "
    "whenever that hour starts in some zone. When the last build holds the events up to the "
    "end of every local week due, the run renders and sends; otherwise (west of UTC the local "
    "Sunday ends on the UTC Monday) it first rebuilds that Sunday with the events up to the "
    "tick. Each run also sends the reports whose hour passed while no build held their week.",
)
def weekly_report_schedule(context: dg.ScheduleEvaluationContext, delivery_rules: DeliveryRules):
    at = (context.scheduled_execution_time or datetime.now(UTC)).astimezone(UTC)
    hour = delivery_rules.weekly_report_hour
    zones = weekly_report.zones_at_send_time(at, hour)
    if not zones:
        return dg.SkipReason(f"{at:%a %H:%M} UTC is not Monday {hour:02d}:00 in any time zone")
    monday = at.astimezone(weekly_report.zone(zones[0])).date()
    week_end = weekly_report.reported_week_end(monday)
    if at < _day_end(week_end):
        # Far east of UTC, Monday morning comes while the UTC Sunday is still open: its
        # partition does not exist yet. At 00:00 UTC it is Monday `hour`:00 at UTC+`hour`, and
        # that tick's run sends these reports too.
        return dg.SkipReason(
            f"Monday {hour:02d}:00 in {len(zones)} zone(s) ({', '.join(zones[:3])}, ...), "
            f"but the UTC day {week_end} has not closed: the run of the tick at 00:00 UTC "
            "sends those reports"
        )
    needed = weekly_report.events_needed(week_end, at, hour)
    built = built_events_through(context.instance)
    rebuild = built is None or (needed is not None and built < needed)
    return weekly_report_request(
        week_end, at, run_key=f"weekly_report:{at:%Y-%m-%dT%H:%M}Z", rebuild=rebuild
    )


schedules = [daily_build_schedule, weekly_report_schedule]
