"""The engagement marts on generated data: coverage, privacy, arbitration, and day-by-day
builds that equal a full refresh."""

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb

from orchestration.demo_data import generate
from orchestration.runner import run_daily
from tests.pipeline import END_DATE, Pipeline

TRIGGER_TYPES = {
    "milestone_reached",
    "inactive_nudge",
    "feature_adoption_prompt",
    "level_up",
    "personal_best",
    "streak_milestone",
    "onboarding_stuck",
    "weekly_report",
    "expansion_invite",
}


def test_every_trigger_type_occurs(demo_pipeline):
    found = {
        row[0]
        for row in demo_pipeline.query("select distinct trigger_type from marts.fct_email_triggers")
    }
    assert found == TRIGGER_TYPES


def test_every_level_of_every_ladder_occurs(demo_pipeline):
    ladder_levels = set(demo_pipeline.query("select ladder, level from seeds.gamification_levels"))
    reached = set(
        demo_pipeline.query(
            "select distinct ladder, level from marts.fct_gamification_levels "
            "where level is not null"
        )
    )
    assert len(ladder_levels) == 11
    assert reached == ladder_levels


def test_every_stage_occurs_for_users(demo_pipeline):
    stages = demo_pipeline.query(
        "select distinct stage from marts.fct_engagement_stages where entity_type = 'user'"
    )
    assert {row[0] for row in stages} == {"implement", "reinforce", "optimize", "expand"}


def test_no_raw_email_address_in_the_marts(demo_pipeline):
    columns = demo_pipeline.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and column_name like '%email%'"
    )
    assert {column for _, column in columns} <= {"email_hash"}
    addresses = demo_pipeline.scalar(
        "select count(*) from marts.dim_users where email_hash like '%@%'"
    )
    assert addresses == 0


def test_holdout_users_get_no_payload_and_caps_hold(demo_pipeline):
    holdout_payloads = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads join marts.dim_users using (user_id) "
        "where dim_users.is_holdout"
    )
    assert holdout_payloads == 0
    busiest_day = demo_pipeline.scalar(
        "select max(n) from (select count(*) as n from email.rpt_email_payloads "
        "group by user_id, triggered_on)"
    )
    busiest_week = demo_pipeline.scalar(
        "with sent as (select user_id, triggered_on from email.rpt_email_payloads) "
        "select max(n) from (select count(*) as n from sent as day join sent as earlier "
        "on day.user_id = earlier.user_id "
        "and earlier.triggered_on between day.triggered_on - 6 and day.triggered_on "
        "group by day.user_id, day.triggered_on)"
    )
    assert busiest_day == 1
    assert busiest_week == 3


def copy_raw_through(source: Path, target: Path, day) -> None:
    """The raw directory as it stood at the end of `day`: event files appear day by day."""
    for folder in source.iterdir():
        if not folder.is_dir():
            continue
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if folder.name != "events" or path.stem <= day.isoformat():
                shutil.copy2(path, target / folder.name / path.name)


# What was sent depends on which days a run happened, by design: a full refresh rebuilds the
# history of triggers but never e-mails about the past. These tables record sends, not data.
SEND_RECORDS = {
    ("email", "rendered_emails"),
    ("email", "send_ledger"),
    ("marts", "fct_email_sends"),
    ("marts", "fct_email_effect"),
}


def data_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('marts', 'email') and table_catalog = current_database() "
        "order by 1, 2"
    ).fetchall()
    return [table for table in tables if table not in SEND_RECORDS]


def test_day_by_day_builds_equal_one_full_refresh(tmp_path, monkeypatch):
    source = tmp_path / "source"
    generate(source, accounts=25, days=40, target_events=12_000, end_date=END_DATE, progress=False)
    days = [END_DATE - timedelta(days=offset) for offset in (2, 1, 0)]

    daily = Pipeline(raw_dir=tmp_path / "daily" / "raw", warehouse=tmp_path / "daily.duckdb")
    full = Pipeline(raw_dir=tmp_path / "full" / "raw", warehouse=tmp_path / "full.duckdb")
    for pipeline, run_days in ((daily, days), (full, days[-1:])):
        monkeypatch.setenv("FLYWHEEL_RAW_DIR", str(pipeline.raw_dir))
        monkeypatch.setenv("FLYWHEEL_WAREHOUSE", str(pipeline.warehouse))
        for day in run_days:
            copy_raw_through(source, pipeline.raw_dir, day)
            assert run_daily(day).success, day

    with duckdb.connect(str(daily.warehouse), read_only=True) as con:
        con.execute(f"attach '{full.warehouse}' as full_refresh (read_only)")
        tables = data_tables(con)
        assert len(tables) >= 15
        for schema, table in tables:
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? "
                    "and table_catalog = current_database() and column_name <> 'loaded_at'",
                    [schema, table],
                ).fetchall()
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            for left, right in (("", "full_refresh."), ("full_refresh.", "")):
                difference = con.execute(
                    f"select count(*) from (select {select} from {left}{schema}.{table} "
                    f"except all select {select} from {right}{schema}.{table})"
                ).fetchone()[0]
                assert difference == 0, f"{schema}.{table} differs ({left or 'daily'} side)"
            rows = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
            assert rows > 0 or table == "fct_data_quarantine", f"{schema}.{table} is empty"


def test_an_unsubscribed_address_is_never_sent_to(demo_pipeline):
    unsubscribed = demo_pipeline.scalar("select count(*) from staging.stg_sendgrid__unsubscribes")
    assert unsubscribed > 0
    sent_after_opt_out = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads as payloads "
        "join staging.stg_sendgrid__unsubscribes as opt_outs "
        "on payloads.email = opt_outs.email and opt_outs.unsubscribe_group is null "
        "and cast(opt_outs.unsubscribed_at as date) <= payloads.triggered_on"
    )
    accepted_after_opt_out = demo_pipeline.scalar(
        "select count(*) from email.rendered_emails as rendered "
        "join email.send_ledger using (send_key) "
        "join staging.stg_sendgrid__unsubscribes as opt_outs on rendered.to_email = opt_outs.email "
        "where send_ledger.status = 'accepted' and opt_outs.unsubscribe_group is null"
    )
    assert sent_after_opt_out == 0
    assert accepted_after_opt_out == 0


def test_the_due_emails_were_sent_once_to_the_outbox(demo_pipeline):
    due = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads "
        "where triggered_on between date '2026-03-30' and date '2026-03-31'"
    )
    accepted = demo_pipeline.scalar(
        "select count(*) from email.send_ledger where status = 'accepted'"
    )
    assert due > 0
    assert accepted == due
