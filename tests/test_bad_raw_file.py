"""End to end: a raw file with a wrong header is set aside. The daily job still builds and
sends, a warning check names the file, the load ledger and the run summary give the reason,
the file stays where it is, and once corrected it loads with the next run."""

from datetime import datetime

import dagster as dg
import duckdb
from rich.console import Console

from orchestration.definitions import defs
from orchestration.demo_data import generate
from orchestration.ingestion.assets import NO_FILE_SET_ASIDE
from orchestration.ingestion.contract import RAW_TABLES
from orchestration.runner import run_daily
from orchestration.settings import Settings
from orchestration.summary import print_summary
from tests.pipeline import END_DATE, Pipeline

RAW_EVENTS = dg.AssetKey(["raw", "events"])
BAD_FILE = "events/late-export.csv"
HEADER = "event_id,user_id,account_id,event_name,occurred_at,properties"
# The export tool renamed two columns: the file is not an `events` table of the contract.
WRONG_HEADER = "event_id,user,account,event_name,occurred_at,properties"


def late_events(pipeline: Pipeline, header: str) -> str:
    """Two events of a known user on the run's day, under `header`."""
    with duckdb.connect() as con:
        user, account = con.execute(
            "select user_id, account_id from read_parquet(?) order by 1 limit 1",
            [str(pipeline.raw_dir / "users" / "*.parquet")],
        ).fetchone()
    rows = [f"late-{n},{user},{account},task_completed,{END_DATE}T09:0{n}:00Z," for n in (1, 2)]
    return "\n".join([header, *rows]) + "\n"


def summary_text(pipeline: Pipeline) -> str:
    console = Console(record=True, width=240)
    settings = Settings(_env_file=None, FLYWHEEL_WAREHOUSE=pipeline.warehouse)
    print_summary(settings, sent_since=datetime(2000, 1, 1), console=console)
    return console.export_text()


def file_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key == RAW_EVENTS and evaluation.check_name == NO_FILE_SET_ASIDE
    ]
    return evaluation


def test_a_file_with_a_wrong_header_is_set_aside_and_the_day_goes_on(tmp_path):
    pipeline = Pipeline(raw_dir=tmp_path / "raw", warehouse=tmp_path / "flywheel.duckdb")
    generate(
        pipeline.raw_dir,
        accounts=25,
        days=45,
        target_events=15_000,
        end_date=END_DATE,
        progress=False,
    )
    bad = pipeline.raw_dir / BAD_FILE
    bad.write_text(late_events(pipeline, WRONG_HEADER))
    content = bad.read_bytes()

    result = run_daily(END_DATE, resources=pipeline.resources())

    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert {
        RAW_EVENTS,
        dg.AssetKey(["marts", "fct_email_triggers"]),  # the build ran
        dg.AssetKey(["email", "send_ledger"]),  # and so did the send
    } <= materialized
    assert pipeline.scalar("select count(*) from email.send_ledger where status = 'accepted'") > 0
    check = file_check(result)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert f"{BAD_FILE} (rejected): is not a valid 'events' file: missing column(s) user_id, " in (
        check.description
    )
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {NO_FILE_SET_ASIDE}
    status, reason = pipeline.query(
        "select status, reason from raw._loaded_files where file_path = ?", [BAD_FILE]
    )[0]
    assert status == "rejected"
    assert reason.startswith("is not a valid 'events' file: missing column(s) user_id, account_id")
    assert bad.read_bytes() == content  # still in place, untouched
    summary = summary_text(pipeline)
    assert "Raw files set aside" in summary
    assert BAD_FILE in summary and "missing column(s) user_id, account_id" in summary

    bad.write_text(late_events(pipeline, HEADER))  # corrected: new content, same path
    # The next run: its raw step is where the corrected file loads
    raw_step = defs.resolve_job_def("daily_build").get_subset(
        asset_selection={dg.AssetKey(["raw", table]) for table in RAW_TABLES}
    )
    corrected = raw_step.execute_in_process(
        partition_key=END_DATE.isoformat(), resources=pipeline.resources()
    )

    assert corrected.success
    assert file_check(corrected).passed
    assert pipeline.query(
        "select status, row_count, reason from raw._loaded_files where file_path = ?", [BAD_FILE]
    ) == [("loaded", 2, None)]
    assert pipeline.query(
        "select event_id, _source_row from raw.events where _source_file = ? order by 2",
        [BAD_FILE],
    ) == [("late-1", 1), ("late-2", 2)]
    assert "Raw files set aside" not in summary_text(pipeline)
