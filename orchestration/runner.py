"""Run Flywheel's jobs in-process, the way `flywheel run` and the tests do.

Each run takes its resources from the settings when it starts (`flywheel run` reads the
environment), unless the caller gives its own: a test swaps the warehouse or the outbox so.
"""

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import dagster as dg

from orchestration.emails.assets import RENDERED, SEND_LEDGER
from orchestration.quality.checks import EMAIL_PAYLOADS
from orchestration.resources import flywheel_resources
from orchestration.schedules import weekly_report_request
from orchestration.settings import Settings

Resources = Mapping[str, Any]


def _instance() -> dg.DagsterInstance | None:
    return dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else None


def _resources(resources: Resources | None) -> Resources:
    return flywheel_resources(Settings()) if resources is None else resources


def run_daily(
    as_of: date,
    *,
    send: bool = True,
    raise_on_error: bool = False,
    resources: Resources | None = None,
) -> dg.ExecuteInProcessResult:
    """The daily job for the UTC day `as_of`; without `send` it stops at the payloads."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def("daily_build")
    if not send:
        everything = dg.AssetSelection.all() - dg.AssetSelection.assets(RENDERED).downstream()
        # A subset first: execute_in_process takes resources or an asset selection, not both.
        job = job.get_subset(asset_selection=everything.resolve(defs.resolve_asset_graph()))
    return job.execute_in_process(
        partition_key=as_of.isoformat(),
        instance=_instance(),
        raise_on_error=raise_on_error,
        resources=_resources(resources),
    )


def run_request(
    job_name: str,
    request: dg.RunRequest,
    *,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = False,
    resources: Resources | None = None,
) -> dg.ExecuteInProcessResult:
    """Run what a schedule or sensor requested, in-process, as the daemon would launch it: the
    job's partition, config and tags, and the request's assets and checks if it names some."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    if request.asset_selection is not None or request.asset_check_keys is not None:
        job = job.get_subset(
            asset_selection=set(request.asset_selection or ()),
            asset_check_selection=(
                None if request.asset_check_keys is None else set(request.asset_check_keys)
            ),
        )
    return job.execute_in_process(
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
        instance=instance or _instance(),
        raise_on_error=raise_on_error,
        resources=_resources(resources),
    )


def run_weekly_reports(
    at: datetime, *, raise_on_error: bool = False, resources: Resources | None = None
) -> dg.ExecuteInProcessResult:
    """Send the weekly reports due at `at` (those of the last week that ended by then) from
    the payloads built last: a report is there once that build holds the user's local week."""
    today = at.astimezone(UTC).date()
    week_end = today - timedelta(days=today.isoweekday())  # the last Sunday before today
    request = weekly_report_request(week_end, at, run_key=None, rebuild=False)
    return run_request("weekly_report", request, raise_on_error=raise_on_error, resources=resources)


def run_day(as_of: date, resources: Resources | None = None) -> list[dg.ExecuteInProcessResult]:
    """What `flywheel run --as-of DAY` does: the daily job, then, from Sunday until the grace
    days are over, the weekly reports whose local send time has passed by the end of DAY.

    The weekly reports need the day's payloads built, not the daily sends done: a daily
    e-mail that failed or is in doubt holds back no report (the schedules run the two jobs
    apart in the same way)."""
    resources = _resources(resources)
    results = [run_daily(as_of, resources=resources)]
    days_after_week_end = as_of.isoweekday() % 7  # Sunday: 0
    grace_days = resources["delivery_rules"].grace_days
    if _payloads_built(results[0]) and days_after_week_end <= grace_days:
        end_of_day = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
        results.append(run_weekly_reports(end_of_day, resources=resources))
    return results


def _payloads_built(result: dg.ExecuteInProcessResult) -> bool:
    """Whether the run built the e-mail payloads and no check that guards the inbox failed."""
    built = {event.asset_key for event in result.get_asset_materialization_events()}
    guard_failed = any(
        not evaluation.passed
        and evaluation.blocking
        and evaluation.severity == dg.AssetCheckSeverity.ERROR
        and evaluation.asset_key != SEND_LEDGER
        for evaluation in result.get_asset_check_evaluations()
    )
    return EMAIL_PAYLOADS in built and not guard_failed
