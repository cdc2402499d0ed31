"""Great Expectations suites as Dagster asset checks on the raw events and the dbt models they
guard.

Blocking checks (severity ERROR) guard the inbox: the freshness and volume of the events, and
the payloads themselves (caps, holdout, recipient). The time zone check is a warning: it shows
in the UI, but a user whose zone Python does not know gets the weekly report on UTC time.

Dagster's `blocking=True` holds back only the assets that depend directly on the checked
asset: assets further downstream, and the other models of the same dbt step, still run. So
the asset that sends e-mails must list `INBOX_GUARDED_ASSETS` among its deps.

Great Expectations takes seconds to import, so the suites are imported when a check runs,
not when the code location loads.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.dbt.assets import flywheel_dbt_models
from orchestration.ingestion.assets import raw_asset_key
from orchestration.partitions import run_last_day
from orchestration.quality import thresholds
from orchestration.resources import Warehouse
from orchestration.warehouse import WAREHOUSE_ERRORS, WarehouseConnection

if TYPE_CHECKING:
    from orchestration.quality.validation import SuiteBatch, SuiteOutcome

RAW_EVENTS = raw_asset_key("events")
EVENTS = get_asset_key_for_model([flywheel_dbt_models], "stg_product__events")
USERS = get_asset_key_for_model([flywheel_dbt_models], "stg_product__users")
EMAIL_PAYLOADS = get_asset_key_for_model([flywheel_dbt_models], "rpt_email_payloads")

# The assets with blocking checks: the send step must depend on each of them directly.
INBOX_GUARDED_ASSETS = (EVENTS, EMAIL_PAYLOADS, RAW_EVENTS)

# At most this many failure messages in a check's description; metadata lists them all.
MAX_MESSAGES_IN_DESCRIPTION = 3

BuildBatches = Callable[[WarehouseConnection], Sequence["SuiteBatch"]]


def run_as_of(context: dg.AssetCheckExecutionContext) -> date | None:
    """The last day of the run's partition window; None when invoked outside a run."""
    try:
        run = context.run
    except dg.DagsterError:  # directly invoked (tests): there is no run
        return None
    return run_last_day(run)


def read_batches(warehouse: Warehouse, build_batches: BuildBatches) -> Sequence["SuiteBatch"]:
    """The suites' frames, read over a connection that is closed before anything validates."""
    with warehouse.connect(read_only=True) as con:
        return build_batches(con)


def unreadable(
    warehouse: Warehouse, error: Exception, *, severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    problem = str(error).strip().splitlines()[0]
    return dg.AssetCheckResult(
        passed=False,
        severity=severity,
        description=f"could not read the warehouse {warehouse.location}: {problem}",
        metadata={"error": problem},
    )


def evaluate(
    warehouse: Warehouse, build_batches: BuildBatches, *, severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    """Read the suites' frames, validate them and report every failed expectation with the
    rows that break it."""
    from orchestration.quality.validation import validate

    try:
        batches = read_batches(warehouse, build_batches)
    except WAREHOUSE_ERRORS as error:
        return unreadable(warehouse, error, severity=severity)
    return check_result(validate(batches, warehouse.postgres_url()), severity=severity)


def check_result(
    outcomes: Sequence["SuiteOutcome"], *, severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    messages = [failure.message for outcome in outcomes for failure in outcome.failures]
    evaluated = sum(outcome.evaluated for outcome in outcomes)
    suites = ", ".join(outcome.suite for outcome in outcomes)
    if messages:
        description = "; ".join(messages[:MAX_MESSAGES_IN_DESCRIPTION])
        if len(messages) > MAX_MESSAGES_IN_DESCRIPTION:
            description += f" (+{len(messages) - MAX_MESSAGES_IN_DESCRIPTION} more)"
    else:
        description = f"{evaluated} expectations passed ({suites})"
    return dg.AssetCheckResult(
        passed=not messages,
        severity=severity,
        description=description,
        metadata={
            "evaluated_expectations": evaluated,
            "failed_expectations": len(messages),
            "rows_validated": {outcome.suite: outcome.rows for outcome in outcomes},
            "failures": dg.MetadataValue.md(
                "\n".join(f"- {message}" for message in messages) or "none"
            ),
        },
    )


ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN


# --- staging: warnings -----------------------------------------------------------------------


@dg.asset_check(
    asset=USERS,
    description="Every user's time zone is known to Python's zoneinfo (the weekly report's "
    "local send time).",
)
def user_time_zones_are_known(warehouse: Warehouse) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    return evaluate(warehouse, lambda con: [suites.user_time_zones_suite(con)], severity=WARN)


# --- blocking: what would make a wrong e-mail ------------------------------------------------


@dg.asset_check(
    asset=EVENTS,
    blocking=True,
    description=f"No account has more than {thresholds.VOLUME_SPIKE_RATIO:g}× its usual daily "
    f"events ({thresholds.VOLUME_TRAILING_DAYS}-day median) on the last "
    f"{thresholds.VOLUME_RECENT_DAYS} days up to the run's as-of day: a replayed or runaway "
    "export would inflate every number an e-mail shows.",
)
def events_volume_is_normal(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    end_day = run_as_of(context)
    return evaluate(
        warehouse, lambda con: [suites.events_volume_suite(con, end_day=end_day)], severity=ERROR
    )


@dg.asset_check(
    asset=EMAIL_PAYLOADS,
    blocking=True,
    description="At most daily_email_cap e-mails per user and local day and weekly_email_cap "
    "per 7 days (rules of seed engagement_rules).",
)
def payloads_within_caps(warehouse: Warehouse) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    daily_cap, weekly_cap = thresholds.daily_email_cap(), thresholds.weekly_email_cap()
    return evaluate(
        warehouse,
        lambda con: [suites.payload_caps_suite(con, daily_cap=daily_cap, weekly_cap=weekly_cap)],
        severity=ERROR,
    )


@dg.asset_check(
    asset=EMAIL_PAYLOADS,
    blocking=True,
    description="No payload for a holdout user (marts.dim_users.is_holdout), and every "
    "payload's user is in dim_users.",
)
def payloads_exclude_holdout(warehouse: Warehouse) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    return evaluate(warehouse, lambda con: [suites.payload_holdout_suite(con)], severity=ERROR)


@dg.asset_check(
    asset=EMAIL_PAYLOADS,
    blocking=True,
    description="Every payload has a non-empty e-mail address.",
)
def payloads_have_recipient(warehouse: Warehouse) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    return evaluate(warehouse, lambda con: [suites.payload_recipients_suite(con)], severity=ERROR)


# --- sources: freshness ----------------------------------------------------------------------


@dg.asset_check(
    asset=RAW_EVENTS,
    blocking=True,
    description="The newest raw event is recent at the end of the run's day: warns past "
    f"{thresholds.FRESHNESS_WARN_AFTER_HOURS} h, blocks the send past "
    f"{thresholds.FRESHNESS_ERROR_AFTER_HOURS} h (the export has stopped: e-mails would call "
    "active users inactive).",
)
def events_are_fresh(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    from orchestration.quality import suites

    day = run_as_of(context)
    if day is None:
        day_end = datetime.now(UTC).replace(tzinfo=None)
    else:
        day_end = datetime.combine(day + timedelta(days=1), time())

    from orchestration.quality.validation import validate

    # One read of raw.events, judged against both thresholds: the blocking one first.
    try:
        blocking, warning = read_batches(
            warehouse,
            lambda con: suites.events_freshness_suites(
                con,
                day_end=day_end,
                max_hours_behind=(
                    thresholds.FRESHNESS_ERROR_AFTER_HOURS,
                    thresholds.FRESHNESS_WARN_AFTER_HOURS,
                ),
            ),
        )
    except WAREHOUSE_ERRORS as error:
        return unreadable(warehouse, error, severity=ERROR)
    result = check_result(validate([blocking], warehouse.postgres_url()), severity=ERROR)
    if result.passed:
        result = check_result(validate([warning], warehouse.postgres_url()), severity=WARN)
    return result


# Checks on the raw sources, apart from the model checks: they need the raw schema.
source_freshness_checks = [events_are_fresh]

quality_checks = [
    user_time_zones_are_known,
    events_volume_is_normal,
    payloads_within_caps,
    payloads_exclude_holdout,
    payloads_have_recipient,
]
