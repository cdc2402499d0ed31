"""The daily schedule evaluated at fixed instants, the raw-files sensor on a temporary
directory, and the failure sensor on runs that really failed."""

import json
import zoneinfo
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.resources import RawDirectory
from orchestration.run_day import run_day_config
from orchestration.schedules import daily_build_schedule
from orchestration.sensors import AlertLog, raw_files_sensor, run_failure_sensor


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the daily build -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tick",
    [
        utc(2026, 3, 31, 0, 30),
        # the same instant seen from another zone
        datetime(2026, 3, 31, 2, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    ],
)
def test_the_daily_build_builds_the_utc_day_that_just_closed(tick):
    request = daily_build_schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.run_config["ops"]["flywheel_dbt_models"] == {"config": {"as_of": "2026-03-30"}}
    # every step of the job (build, render, send, feedback) is for the same day
    assert request.run_config == run_day_config(date(2026, 3, 30))
    assert request.tags["flywheel/as_of"] == "2026-03-30"
    assert request.run_key == "daily_build:2026-03-30"


def test_the_daily_build_runs_after_midnight_utc():
    assert daily_build_schedule.cron_schedule == "30 0 * * *"
    assert daily_build_schedule.execution_timezone == "UTC"
    assert daily_build_schedule.job_name == "daily_build"


def test_the_daily_run_config_fits_the_daily_build_job():
    from orchestration.definitions import defs

    request = daily_build_schedule(
        dg.build_schedule_context(scheduled_execution_time=utc(2026, 3, 31, 0, 30))
    )
    job = defs.resolve_job_def("daily_build")
    assert dg.validate_run_config(job, request.run_config)


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
    assert set(request.run_config["ops"]["flywheel_dbt_models"]["config"]) == {"as_of"}
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
