"""End to end: a day with ten times the usual events from one account passes dbt's own tests,
fails the blocking volume check, and not one e-mail is sent: neither by the daily build nor by
the weekly report run."""

from datetime import UTC, datetime, time, timedelta

import dagster as dg
import duckdb

from orchestration.demo_data import generate
from orchestration.runner import run_daily, run_weekly_reports
from tests.pipeline import END_DATE, Pipeline

SEND_STEPS = {dg.AssetKey(["email", "rendered_emails"]), dg.AssetKey(["email", "send_ledger"])}


def plant_spike(raw_dir, day) -> tuple[str, int]:
    """An extra events file: the account with the most events sends 15x its usual daily count
    (and at least 300) on `day`, as a replayed export would. Returns (account, events)."""
    with duckdb.connect() as con:
        con.execute(f"create view events as select * from read_parquet('{raw_dir}/events/*')")
        account, user, usual = con.execute(
            """
            select account_id, min(user_id), count(*) / count(distinct left(occurred_at, 10))
            from events group by account_id order by count(*) desc limit 1
            """
        ).fetchone()
        events = max(300, int(15 * usual))
        con.execute(
            f"""
            copy (
                select 'replayed-' || n as event_id, '{user}' as user_id,
                    '{account}' as account_id, 'task_completed' as event_name,
                    '{day}T12:00:00Z' as occurred_at, '{{}}' as properties
                from range({events}) as t(n)
            ) to '{raw_dir}/events/replayed-export.csv' (header)
            """
        )
    return account, events


def test_a_spike_that_passes_dbt_tests_stops_every_send(tmp_path):
    pipeline = Pipeline(raw_dir=tmp_path / "raw", warehouse=tmp_path / "flywheel.duckdb")
    generate(
        pipeline.raw_dir,
        accounts=25,
        days=45,
        target_events=15_000,
        end_date=END_DATE,
        progress=False,
    )
    sunday = END_DATE - timedelta(days=END_DATE.isoweekday() % 7)
    account, _ = plant_spike(pipeline.raw_dir, sunday)

    result = run_daily(END_DATE, resources=pipeline.resources())

    assert not result.success
    evaluations = result.get_asset_check_evaluations()
    failed = {e.check_name: e for e in evaluations if not e.passed}
    assert set(failed) == {"events_volume_is_normal"}, "dbt's own tests pass on the spike"
    assert len(evaluations) > 100  # the dbt tests ran as checks, and passed
    message = failed["events_volume_is_normal"].description
    assert f"account {account} had" in message and f"on {sunday}" in message
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(["email", "rpt_email_payloads"]) in materialized  # built, not sent
    assert not materialized & SEND_STEPS
    assert (
        pipeline.scalar(
            "select count(*) from information_schema.tables where table_name = 'send_ledger'"
        )
        == 0
    )
    # the e-mails were due: only the check held them back
    due = pipeline.scalar(
        "select count(*) from email.rpt_email_payloads where triggered_on >= ?",
        [END_DATE - timedelta(days=1)],
    )
    assert due > 0

    # Monday evening UTC: the reports of the week with the spike are due in every time zone
    weekly = run_weekly_reports(
        datetime.combine(sunday + timedelta(days=1), time(23), UTC), resources=pipeline.resources()
    )
    assert not weekly.success
    failed = [e.check_name for e in weekly.get_asset_check_evaluations() if not e.passed]
    assert failed == ["events_volume_is_normal"]
    assert not {e.asset_key for e in weekly.get_asset_materialization_events()} & SEND_STEPS
    reports = pipeline.scalar(
        "select count(*) from email.rpt_email_payloads "
        "where trigger_type = 'weekly_report' and triggered_on = ?",
        [sunday],
    )
    assert reports > 0
    assert (
        pipeline.scalar(
            "select count(*) from information_schema.tables where table_name = 'send_ledger'"
        )
        == 0
    )
