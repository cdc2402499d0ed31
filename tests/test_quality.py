"""The data-quality checks pass on a clean warehouse and fail, naming the problem, on bad ones.

Each test builds a tiny DuckDB warehouse with only the tables the suites read, breaks one
thing, and runs the checks against it.
"""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.quality import INBOX_GUARDED_ASSETS, quality_checks, source_freshness_checks
from orchestration.quality.checks import RAW_EVENTS, USERS
from orchestration.resources import Warehouse

# The last day of the events and payloads.
AS_OF = date.today() - timedelta(days=2)
DAY = AS_OF.isoformat()
MONTH = AS_OF.replace(day=1).isoformat()

CHECKS = {next(iter(check.check_keys)).name: check for check in quality_checks}
BLOCKING = {
    "events_volume_is_normal",
    "payloads_within_caps",
    "payloads_exclude_holdout",
    "payloads_have_recipient",
}

CLEAN_WAREHOUSE_SQL = f"""
create schema staging;
create schema marts;
create schema email;

create table staging.stg_product__users as
    select * from (values
        ('usr_0001', 'acc_0001', 'Europe/Paris'),
        ('usr_0002', 'acc_0002', 'America/Toronto'),
        ('usr_0003', 'acc_0001', 'Pacific/Auckland')
    ) as t(user_id, account_id, timezone);

create table marts.dim_users as
    select * from (values ('usr_0001', false), ('usr_0002', false), ('usr_0003', true))
        as t(user_id, is_holdout);

-- 40 days of steady activity: acc_0001 60 events a day, acc_0002 (small) 3 a day
create table staging.stg_product__events as
with per_day as (
    select account_id, user_id, day_number, unnest(range(events_per_day)) as event_number
    from (values ('acc_0001', 'usr_0001', 60), ('acc_0002', 'usr_0002', 3))
        as accounts(account_id, user_id, events_per_day)
    cross join range(40) as days(day_number)
)
select
    account_id || '-' || day_number || '-' || event_number as event_id,
    user_id,
    account_id,
    'session_started' as event_name,
    cast(date '{DAY}' - cast(day_number as integer) as timestamp)
        + to_minutes(cast(event_number as integer)) as occurred_at,
    cast(date '{DAY}' + 1 as timestamp) as loaded_at
from per_day;

-- usr_0001: 3 e-mails in 7 days (the weekly cap), one a day; usr_0002: one
create table email.rpt_email_payloads as
    select * from (values
        ('usr_0001:level_up:usage_tier:Silver', 'usr_0001', 'ana@example.com', 'en',
            date '{DAY}' - 6),
        ('usr_0001:streak_milestone:7', 'usr_0001', 'ana@example.com', 'en', date '{DAY}' - 3),
        ('usr_0001:weekly_report:W1', 'usr_0001', 'ana@example.com', 'en', date '{DAY}'),
        ('usr_0002:weekly_report:W1', 'usr_0002', 'bea@example.com', 'fr', date '{DAY}')
    ) as t(send_key, user_id, email, locale, triggered_on);
"""


def make_warehouse(path: Path, *breakage: str) -> Warehouse:
    with duckdb.connect(str(path)) as con:
        con.execute(CLEAN_WAREHOUSE_SQL)
        for sql in breakage:
            con.execute(sql)
    return Warehouse(path=str(path))


def run_check(name: str, warehouse: Warehouse) -> dg.AssetCheckResult:
    context = dg.build_asset_check_context(resources={"warehouse": warehouse})
    return CHECKS[name](context)


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory) -> Warehouse:
    return make_warehouse(tmp_path_factory.mktemp("clean") / "flywheel.duckdb")


def test_the_checks_cover_the_guarded_models():
    assert {spec.key.name for check in quality_checks for spec in check.check_specs} >= BLOCKING
    assert {key for check in quality_checks for key in check.check_keys} == {
        dg.AssetCheckKey(key, name)
        for name, key in [
            ("user_time_zones_are_known", USERS),
            ("events_volume_is_normal", INBOX_GUARDED_ASSETS[0]),
            ("payloads_within_caps", dg.AssetKey(["email", "rpt_email_payloads"])),
            ("payloads_exclude_holdout", dg.AssetKey(["email", "rpt_email_payloads"])),
            ("payloads_have_recipient", dg.AssetKey(["email", "rpt_email_payloads"])),
        ]
    }
    blocking = {
        spec.name for check in quality_checks for spec in check.check_specs if spec.blocking
    }
    assert blocking == BLOCKING


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_passes_on_a_clean_warehouse(name, clean_warehouse):
    result = run_check(name, clean_warehouse)
    assert result.passed, result.description
    assert result.metadata["failed_expectations"].value == 0
    assert result.metadata["evaluated_expectations"].value > 0
    expected = dg.AssetCheckSeverity.ERROR if name in BLOCKING else dg.AssetCheckSeverity.WARN
    assert result.severity == expected


BAD_WAREHOUSES = {
    "a day with 10x the usual events from one account": (
        "events_volume_is_normal",
        [
            f"""insert into staging.stg_product__events
            select 'spike-' || n, 'usr_0001', 'acc_0001', 'session_started',
                cast(date '{DAY}' as timestamp) + to_seconds(n), cast(date '{DAY}' + 1 as timestamp)
            from range(700) as t(n)"""
        ],
        [f"account acc_0001 had 760 events on {DAY}, 12.7× its 28-day median (60"],
    ),
    "a payload for a holdout user": (
        "payloads_exclude_holdout",
        [
            f"""insert into email.rpt_email_payloads values
            ('usr_0003:weekly_report:W1', 'usr_0003', 'ivan@example.com', 'ru', date '{DAY}')"""
        ],
        ["holdout user usr_0003 has 1 payload(s), e.g. usr_0003:weekly_report:W1"],
    ),
    "a payload for a user missing from dim_users": (
        "payloads_exclude_holdout",
        [
            f"""insert into email.rpt_email_payloads values
            ('usr_9999:weekly_report:W1', 'usr_9999', 'x@example.com', 'en', date '{DAY}')"""
        ],
        ["user usr_9999 has 1 payload(s), e.g. usr_9999:weekly_report:W1, but is not in"],
    ),
    "two payloads for one user on one day": (
        "payloads_within_caps",
        [
            f"""insert into email.rpt_email_payloads values
            ('usr_0002:level_up:usage_tier:Gold', 'usr_0002', 'bea@example.com', 'fr',
                date '{DAY}')"""
        ],
        [f"user usr_0002 has 2 payloads on {DAY} (daily cap 1)"],
    ),
    "four payloads for one user in seven days": (
        "payloads_within_caps",
        [
            f"""insert into email.rpt_email_payloads values
            ('usr_0001:personal_best:W0', 'usr_0001', 'ana@example.com', 'en',
                date '{DAY}' - 1)"""
        ],
        [f"user usr_0001 has 4 payloads in the 7 days to {DAY} (weekly cap 3)"],
    ),
    "a payload without an e-mail address": (
        "payloads_have_recipient",
        [
            "update email.rpt_email_payloads set email = ' ' "
            "where send_key = 'usr_0002:weekly_report:W1'",
        ],
        ["1 payload(s) without an e-mail address, e.g. usr_0002:weekly_report:W1"],
    ),
    "a missing table": (
        "payloads_within_caps",
        ["drop table email.rpt_email_payloads"],
        ["could not read the warehouse", "rpt_email_payloads"],
    ),
    # a warning: shown in the UI, does not block
    "a user with a time zone unknown to zoneinfo": (
        "user_time_zones_are_known",
        [
            "update staging.stg_product__users set timezone = 'Mars/Olympus' "
            "where user_id = 'usr_0002'"
        ],
        ["user usr_0002 (account acc_0002): time zone 'Mars/Olympus' is unknown to zoneinfo"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WAREHOUSES))
def test_a_check_fails_and_names_the_problem(case, tmp_path):
    name, breakage, fragments = BAD_WAREHOUSES[case]
    result = run_check(name, make_warehouse(tmp_path / "flywheel.duckdb", *breakage))
    assert not result.passed
    for fragment in fragments:
        assert fragment in result.description
    expected = dg.AssetCheckSeverity.ERROR if name in BLOCKING else dg.AssetCheckSeverity.WARN
    assert result.severity == expected


def test_a_small_account_needs_more_than_the_floor_to_count_as_a_spike(tmp_path):
    # acc_0002 usually has 3 events a day: 40 is 13x that, but below 10 x the floor of 20
    small_spike = f"""insert into staging.stg_product__events
        select 'small-' || n, 'usr_0002', 'acc_0002', 'session_started',
            cast(date '{DAY}' as timestamp) + to_seconds(n), cast(date '{DAY}' + 1 as timestamp)
        from range(37) as t(n)"""
    warehouse = make_warehouse(tmp_path / "flywheel.duckdb", small_spike)
    assert run_check("events_volume_is_normal", warehouse).passed


def test_the_volume_check_judges_the_runs_as_of_day(tmp_path):
    # a spike 10 days ago: not among the last days of the data, but it is the run's as-of day
    spike = f"""insert into staging.stg_product__events
        select 'old-spike-' || n, 'usr_0001', 'acc_0001', 'session_started',
            cast(date '{DAY}' - 10 as timestamp) + to_seconds(n),
            cast(date '{DAY}' + 1 as timestamp)
        from range(1000) as t(n)"""
    warehouse = make_warehouse(tmp_path / "flywheel.duckdb", spike)
    assert run_check("events_volume_is_normal", warehouse).passed
    result = dg.materialize(
        [_stub_models(), *quality_checks],
        resources={"warehouse": warehouse},
        selection=dg.AssetSelection.checks(CHECKS["events_volume_is_normal"]),
        tags={"dagster/partition": (AS_OF - timedelta(days=10)).isoformat()},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "account acc_0001 had 1,060 events" in evaluation.description


# --- blocking, end to end: a failed check stops the send -----------------------------------


def _stub_models() -> dg.AssetsDefinition:
    """Stands in for the dbt models the checks guard (the tables are already built)."""
    keys = [*INBOX_GUARDED_ASSETS, USERS]

    @dg.multi_asset(specs=[dg.AssetSpec(key) for key in keys], can_subset=True)
    def dbt_models(context: dg.AssetExecutionContext):
        for key in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=key)

    return dbt_models


@dg.asset(deps=list(INBOX_GUARDED_ASSETS))
def send_emails() -> None:
    """Stands in for the send step: it depends on every asset with a blocking check."""


def test_a_failed_blocking_check_stops_the_send(tmp_path):
    holdout_payload = f"""insert into email.rpt_email_payloads values
        ('usr_0003:weekly_report:W1', 'usr_0003', 'ivan@example.com', 'ru', date '{DAY}')"""
    warehouse = make_warehouse(tmp_path / "flywheel.duckdb", holdout_payload)
    result = dg.materialize(
        [_stub_models(), send_emails, *quality_checks],
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    assert not result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey("send_emails") not in materialized
    failed = {
        evaluation.check_name: evaluation.description
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    }
    assert set(failed) == {"payloads_exclude_holdout"}
    assert "holdout user usr_0003" in failed["payloads_exclude_holdout"]


def test_the_send_runs_when_every_check_passes(clean_warehouse):
    result = dg.materialize(
        [_stub_models(), send_emails, *quality_checks], resources={"warehouse": clean_warehouse}
    )
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey("send_emails") in materialized
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())


# --- source freshness ------------------------------------------------------------------------


@dg.asset(key=RAW_EVENTS)
def loaded_raw_events() -> None:
    """Stands in for the ingestion step (raw.events is already written)."""


@dg.asset(deps=[RAW_EVENTS])
def sends_after_ingestion() -> None:
    """Stands in for the send step downstream of ingestion."""


@pytest.mark.parametrize(
    ("newest", "severity", "message"),
    [
        ("2026-03-30T22:00:00+02:00", None, "expectations passed"),  # 20:00 UTC: 4 h behind
        ("2026-03-30 02:00:00", "WARN", "is 22 h before the end of the run's day"),
        ("2026-03-28T12:00:00Z", "ERROR", "the newest event (2026-03-28 12:00:00+00:00) is 60 h"),
        ("not a time", "ERROR", "raw.events holds at least one event"),
    ],
)
def test_stale_events_warn_then_block_the_send(newest, severity, message, tmp_path):
    path = tmp_path / "flywheel.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.events (occurred_at varchar)")
        con.execute("insert into raw.events values (?)", [newest])
    result = dg.materialize(
        [loaded_raw_events, sends_after_ingestion, *source_freshness_checks],
        resources={"warehouse": Warehouse(path=str(path))},
        tags={"dagster/partition": "2026-03-30"},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert message in evaluation.description
    assert evaluation.passed is (severity is None)
    if severity:
        assert evaluation.severity.value == severity
    sent = dg.AssetKey("sends_after_ingestion") in {
        event.asset_key for event in result.get_asset_materialization_events()
    }
    assert sent is (severity != "ERROR")
