"""The daily and weekly-report schedules evaluated at fixed instants (daylight-saving
changes included), the raw-files sensor on a temporary directory, and the failure sensor on
runs that really failed."""

import json
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration.alerts import AlertLog
from orchestration.emails import weekly_report
from orchestration.emails.assets import RENDERED, SEND_LEDGER
from orchestration.emails.delivery import DeliveryRules
from orchestration.jobs import WEEKLY_SEND_CHECKS
from orchestration.quality.checks import EMAIL_PAYLOADS, RAW_EVENTS
from orchestration.resources import RawDirectory
from orchestration.schedules import (
    weekly_report_config,
    weekly_report_schedule,
)
from orchestration.sensors import raw_files_sensor, run_failure_sensor


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the daily build -----------------------------------------------------------------------


def daily_requests(tick: datetime) -> list[dg.RunRequest]:
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("daily_build_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    return schedule.evaluate_tick(context).run_requests


@pytest.mark.parametrize(
    "tick",
    [
        utc(2026, 3, 31, 0, 30),
        # the same instant seen from another zone
        datetime(2026, 3, 31, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    ],
)
def test_the_daily_build_builds_the_utc_day_that_just_closed(tick):
    (request,) = daily_requests(tick)
    assert request.partition_key == "2026-03-30"


def test_the_daily_build_runs_after_midnight_utc_as_one_writer():
    from orchestration.definitions import defs

    schedule = defs.resolve_schedule_def("daily_build_schedule")
    assert schedule.cron_schedule == "30 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "daily_build"

    for job in ("daily_build", "weekly_report"):
        assert defs.resolve_job_def(job).tags["flywheel/warehouse"] == "writer"


# --- the weekly report at a local hour ------------------------------------------------------

PARIS, LONDON = "Europe/Paris", "Europe/London"
NEW_YORK, SYDNEY = "America/New_York", "Australia/Sydney"
LOS_ANGELES = "America/Los_Angeles"


@pytest.fixture
def built_weeks():
    """An instance on which the payloads of the given weeks (Sunday partitions) were built."""
    with dg.instance_for_test() as instance:

        def build(*week_ends: str) -> dg.DagsterInstance:
            for week_end in week_ends:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(asset_key=EMAIL_PAYLOADS, partition=week_end)
                )
            return instance

        yield build


def weekly_tick(tick: datetime, instance: dg.DagsterInstance):
    # As a context manager: it closes the resources it built and hands the instance back.
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=tick,
        resources={"delivery_rules": DeliveryRules(weekly_report_hour=8)},
    ) as context:
        return weekly_report_schedule(context)


@pytest.mark.parametrize(
    ("tick", "zone", "at_send_hour"),
    [
        # Europe moves to summer time on Sunday 2026-03-29: 08:00 in Paris is 07:00 UTC on
        # the Monday before and 06:00 UTC on the Monday after
        (utc(2026, 3, 23, 7), PARIS, True),
        (utc(2026, 3, 23, 6), PARIS, False),
        (utc(2026, 3, 30, 6), PARIS, True),
        (utc(2026, 3, 30, 7), PARIS, False),
        (utc(2026, 3, 30, 7), LONDON, True),
        # the United States moved on Sunday 2026-03-08: 13:00 UTC before, 12:00 UTC after
        (utc(2026, 3, 2, 13), NEW_YORK, True),
        (utc(2026, 3, 9, 12), NEW_YORK, True),
        (utc(2026, 3, 9, 13), NEW_YORK, False),
        # Sydney leaves summer time on Sunday 2026-04-05 (UTC+11 to UTC+10)
        (utc(2026, 3, 29, 21), SYDNEY, True),
        (utc(2026, 4, 5, 22), SYDNEY, True),
        (utc(2026, 4, 5, 21), SYDNEY, False),
    ],
)
def test_the_send_hour_is_local_across_daylight_saving_changes(tick, zone, at_send_hour):
    assert (zone in weekly_report.zones_at_send_time(tick, hour=8)) is at_send_hour


def test_the_weekly_report_schedule_sends_the_week_that_just_ended(built_weeks):
    tick = utc(2026, 3, 30, 6)  # Monday 08:00 in Paris (summer time)
    # the daily build of the Sunday holds the week of every zone due: Paris's ended at 22:00
    request = weekly_tick(tick, built_weeks("2026-03-29"))
    assert request.partition_key == "2026-03-29"
    assert request.run_config == weekly_report_config(tick)
    assert request.run_key == "weekly_report:2026-03-30T06:00Z"
    # the render and send steps only, after the checks that guard the inbox
    assert request.asset_selection == [RENDERED, SEND_LEDGER]
    assert set(request.asset_check_keys) == set(WEEKLY_SEND_CHECKS)
    assert dg.AssetCheckKey(RAW_EVENTS, "events_are_fresh") in request.asset_check_keys
    from orchestration.definitions import defs

    assert dg.validate_run_config(defs.resolve_job_def("weekly_report"), request.run_config)


def test_west_of_utc_the_weekly_report_schedule_rebuilds_the_sunday(built_weeks):
    # Monday 08:00 in Los Angeles (PDT): the week there ended at 07:00 UTC, after the end of
    # the Sunday partition that the daily build holds
    tick = utc(2026, 3, 30, 15)
    assert weekly_report.local_week_end(date(2026, 3, 29), LOS_ANGELES) == utc(2026, 3, 30, 7)
    request = weekly_tick(tick, built_weeks("2026-03-29"))
    assert request.partition_key == "2026-03-29"
    assert request.asset_selection is None  # the whole job: load, build, check, send
    assert request.run_config == weekly_report_config(tick, rebuild=True)
    assert request.run_config["ops"]["flywheel_dbt_models"]["config"] == {
        "events_through": "2026-03-30T15:00:00+00:00"
    }
    from orchestration.definitions import defs

    assert dg.validate_run_config(defs.resolve_job_def("weekly_report"), request.run_config)
    # a build of the Monday holds every local week of the Sunday
    assert weekly_tick(tick, built_weeks("2026-03-30")).asset_selection == [
        RENDERED,
        SEND_LEDGER,
    ]


def in_flight_build(instance: dg.DagsterInstance, job: str, **config) -> None:
    """A warehouse writer run of the Sunday 2026-03-29, started and not finished yet."""
    ops = {"flywheel_dbt_models": {"config": config}} if config else {}
    instance.add_run(
        dg.DagsterRun(
            job_name=job,
            run_id=f"{len(instance.get_runs()):036d}",
            status=dg.DagsterRunStatus.STARTED,
            run_config={"ops": ops},
            tags={"flywheel/warehouse": "writer", "dagster/partition": "2026-03-29"},
        )
    )


def test_the_weekly_report_schedule_sends_from_a_build_that_holds_the_week(built_weeks):
    # The rebuild of 09:00 UTC (Monday 08:00 in the Azores, UTC-1) holds every week that
    # ended by then: Los Angeles's, at 07:00 UTC, but not Honolulu's, at 10:00 UTC. The run
    # queue starts a run requested now after it.
    instance = built_weeks("2026-03-29")
    in_flight_build(instance, "weekly_report", events_through="2026-03-30T09:00:00+00:00")
    assert weekly_tick(utc(2026, 3, 30, 15), instance).asset_selection == [
        RENDERED,
        SEND_LEDGER,
    ]
    assert weekly_tick(utc(2026, 3, 30, 18), instance).asset_selection is None  # Honolulu
    # a build of the Sunday that the raw-files sensor started replaces the warehouse's
    # payloads with those of the Sunday partition: Los Angeles's week is not there
    in_flight_build(instance, "daily_build")
    assert weekly_tick(utc(2026, 3, 30, 15), instance).asset_selection is None


def test_the_weekly_report_schedule_waits_for_the_utc_sunday_to_close(built_weeks):
    # Monday 08:00 in Sydney comes before the UTC Sunday has closed: no partition yet
    skip = weekly_tick(utc(2026, 3, 29, 21), built_weeks("2026-03-22"))
    assert isinstance(skip, dg.SkipReason)
    assert "the UTC day 2026-03-29 has not closed" in skip.skip_message
    # at 00:00 UTC, Monday 08:00 at UTC+8: the run rebuilds the Sunday and sends Sydney's too
    midnight = utc(2026, 3, 30)
    assert "Australia/Perth" in weekly_report.zones_at_send_time(midnight, hour=8)
    request = weekly_tick(midnight, built_weeks("2026-03-22"))
    assert request.partition_key == "2026-03-29"
    assert request.asset_selection is None
    assert weekly_report.is_due(date(2026, 3, 29), SYDNEY, midnight, hour=8, grace_days=1)


def test_the_weekly_report_schedule_skips_when_it_is_not_the_hour_anywhere(built_weeks):
    skip = weekly_tick(utc(2026, 3, 31, 12), built_weeks("2026-03-29"))  # a Tuesday
    assert isinstance(skip, dg.SkipReason)
    assert weekly_tick(utc(2026, 3, 30, 6, 10), built_weeks("2026-03-29")).skip_message


@pytest.mark.parametrize(
    ("zone", "at", "due"),
    [
        (PARIS, utc(2026, 3, 30, 5, 59), False),  # 07:59 local: not yet
        (PARIS, utc(2026, 3, 30, 6), True),
        (PARIS, utc(2026, 3, 31, 5, 59), True),  # within the grace day
        (PARIS, utc(2026, 3, 31, 6), False),  # stale
        # Sydney's 08:00 passed while the build was not ready: sent by the next run
        (SYDNEY, utc(2026, 3, 30, 1), True),
        (NEW_YORK, utc(2026, 3, 30, 11), False),
        (NEW_YORK, utc(2026, 3, 30, 12), True),
    ],
)
def test_a_weekly_report_is_due_from_its_local_hour_until_the_grace_ends(zone, at, due):
    week_end = date(2026, 3, 29)
    assert weekly_report.is_due(week_end, zone, at, hour=8, grace_days=1) is due


# --- new raw files -------------------------------------------------------------------------


def write(raw: Path, relative: str, text: str = "event_id\n1\n") -> None:
    path = raw / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def evaluate_raw_files_sensor(raw: Path, cursor: str | None, instance=None):
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"raw_directory": RawDirectory(path=str(raw))},
        instance=instance or dg.DagsterInstance.ephemeral(),
    )
    return raw_files_sensor(context)


def test_the_raw_files_sensor_requests_a_build_for_new_files_only(tmp_path):
    raw = tmp_path / "raw"
    assert isinstance(evaluate_raw_files_sensor(raw, None), dg.SkipReason)

    write(raw, "events/2026-03-01.csv")
    write(raw, "events/.partial.csv")  # ignored, like the loader does
    write(raw, "events/_manifest.json")
    first = evaluate_raw_files_sensor(raw, None)
    (request,) = first.run_requests
    assert request.tags["flywheel/new_files"] == "1"
    assert request.partition_key == (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert list(json.loads(first.cursor)) == ["events/2026-03-01.csv"]

    # nothing new: skip, whatever the number of evaluations
    assert isinstance(evaluate_raw_files_sensor(raw, first.cursor), dg.SkipReason)

    write(raw, "users/users.csv", "user_id\nu1\n")
    second = evaluate_raw_files_sensor(raw, first.cursor)
    (second_request,) = second.run_requests
    assert second_request.run_key != request.run_key
    assert second_request.tags["flywheel/new_files"] == "1"
    assert set(json.loads(second.cursor)) == {"events/2026-03-01.csv", "users/users.csv"}


def test_a_changed_file_counts_as_new(tmp_path):
    raw = tmp_path / "raw"
    write(raw, "accounts/accounts.csv", "account_id\na1\n")
    cursor = evaluate_raw_files_sensor(raw, None).cursor
    write(raw, "accounts/accounts.csv", "account_id\na1\na2\n")
    result = evaluate_raw_files_sensor(raw, cursor)
    assert len(result.run_requests) == 1


def test_the_raw_files_sensor_waits_for_a_running_build(tmp_path):
    raw = tmp_path / "raw"
    write(raw, "events/2026-03-01.csv")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_run(
        dg.DagsterRun(job_name="daily_build", run_id="0" * 36, status=dg.DagsterRunStatus.STARTED)
    )
    waiting = evaluate_raw_files_sensor(raw, None, instance)
    assert isinstance(waiting, dg.SkipReason)
    assert "waiting for daily_build run" in waiting.skip_message


# --- failed runs ---------------------------------------------------------------------------


@dg.op
def load_raw_files() -> None:
    raise ValueError("events/2026-03-02.csv is not a table: missing column event_id")


@dg.job
def failing_job():
    load_raw_files()


@dg.asset(key=["email", "rpt_email_payloads"])
def payloads() -> None:
    """Stands in for the payload model."""


@dg.asset_check(asset=payloads, blocking=True)
def payloads_exclude_holdout() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, description="payload holdout: holdout user usr_0003 has 1 payload(s)"
    )


@dg.asset(deps=[payloads])
def send() -> None:
    """Stands in for the send step."""


def alert_for(result: dg.ExecuteInProcessResult, instance, alert_log: AlertLog) -> str:
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_log": alert_log},
    ).for_run_failure()
    run_failure_sensor(context)
    (line,) = alert_log.file.read_text().splitlines()
    return line


def test_a_failed_run_leaves_one_alert_line_with_the_step_error(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    line = alert_for(result, instance, AlertLog(path=str(tmp_path / "alerts.log")))
    assert f"FAILED job=failing_job run_id={result.run_id}" in line
    assert (
        "step load_raw_files failed: ValueError: events/2026-03-02.csv is not a table: "
        "missing column event_id"
    ) in line


def test_a_run_stopped_by_a_blocking_check_names_the_check(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [payloads, payloads_exclude_holdout, send], instance=instance, raise_on_error=False
    )
    line = alert_for(result, instance, AlertLog(path=str(tmp_path / "alerts.log")))
    assert (
        "check email/rpt_email_payloads:payloads_exclude_holdout (ERROR) failed: "
        "payload holdout: holdout user usr_0003 has 1 payload(s)"
    ) in line


def test_alerts_go_to_dagster_home_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert AlertLog().file == tmp_path / "alerts.log"
