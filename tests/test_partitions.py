"""Daily partitions: three days one by one, then the same range backfilled as one run, give
exactly the marts of a full refresh, with a late file inside the look-back."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.demo_data import generate
from orchestration.partitions import daily_partitions, one_run_per_backfill
from tests.pipeline import END_DATE, Pipeline

# What was sent depends on which days a run happened, by design: a full refresh rebuilds the
# history of triggers but never e-mails about the past. These tables record sends, not data.
SEND_RECORDS = {
    ("email", "rendered_emails"),
    ("email", "send_batches"),
    ("email", "send_ledger"),
    ("marts", "fct_email_sends"),
    ("marts", "fct_email_effect"),
}
# What the build records about itself: when and with which rules each incremental model was built.
BUILD_RECORDS = {("intermediate", "incremental_builds")}
DAYS = [END_DATE - timedelta(days=offset) for offset in (2, 1, 0)]


def copy_raw_through(source: Path, target: Path, day: date) -> None:
    """The raw directory as it stood at the end of `day`: event files appear day by day."""
    for folder in source.iterdir():
        if not folder.is_dir():
            continue
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if folder.name != "events" or path.stem <= day.isoformat():
                shutil.copy2(path, target / folder.name / path.name)


def add_late_file(source: Path) -> None:
    """A file that arrives with the last day's files, holding more events of the first day:
    inside the look-back of the last day's run (on local dates too, which start a day earlier
    west of UTC), which must correct the facts the earlier runs built without them."""
    late_day = DAYS[0]
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace ('late_' || event_id as event_id) "
            f"from read_parquet('{source / 'events' / f'{late_day}.parquet'}') limit 40) "
            f"to '{source / 'events' / f'{DAYS[-2]}-late.parquet'}' (format parquet)"
        )


def data_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every table of the build: staging, intermediate, marts and payloads."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts', 'email') "
        "and table_type = 'BASE TABLE' and table_catalog = current_database() "
        "order by 1, 2"
    ).fetchall()
    return [table for table in tables if table not in SEND_RECORDS | BUILD_RECORDS]


def differences(built: Path, full_refresh: Path) -> list[str]:
    """Every table (staging, intermediate, marts, payloads) whose rows differ between two
    warehouses."""
    problems = []
    with duckdb.connect(str(built), read_only=True) as con:
        con.execute(f"attach '{full_refresh}' as full_refresh (read_only)")
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
                extra = con.execute(
                    f"select count(*) from (select {select} from {left}{schema}.{table} "
                    f"except all select {select} from {right}{schema}.{table})"
                ).fetchone()[0]
                if extra:
                    side = "full refresh" if left else "partitioned build"
                    problems.append(f"{schema}.{table}: {extra} row(s) only in the {side}")
            rows = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
            # clean data quarantines nothing, and data without e-mail events has no clicks
            if (
                rows == 0
                and schema != "staging"
                and table not in {"fct_data_quarantine", "fct_email_clicks"}
            ):
                problems.append(f"{schema}.{table} is empty")
    return problems


def test_partitions_one_by_one_and_a_one_run_backfill_equal_a_full_refresh(tmp_path):
    from orchestration.definitions import defs

    job = defs.resolve_job_def("daily_build")
    source = tmp_path / "source"
    generate(source, accounts=25, days=40, target_events=12_000, end_date=END_DATE, progress=False)
    add_late_file(source)

    full = Pipeline(raw_dir=tmp_path / "full" / "raw", warehouse=tmp_path / "full.duckdb")
    copy_raw_through(source, full.raw_dir, DAYS[-1])
    refresh = job.execute_in_process(
        partition_key=DAYS[-1].isoformat(),
        run_config={"ops": {"flywheel_dbt_models": {"config": {"full_refresh": True}}}},
        resources=full.resources(),
    )
    assert refresh.success

    daily = Pipeline(raw_dir=tmp_path / "daily" / "raw", warehouse=tmp_path / "daily.duckdb")
    for day in DAYS:  # each day's files arrive, then that day's partition runs
        copy_raw_through(source, daily.raw_dir, day)
        run = job.execute_in_process(partition_key=day.isoformat(), resources=daily.resources())
        assert run.success, day
    late_events = "select count(*) from staging.stg_product__events where event_id like 'late_%'"
    assert daily.scalar(late_events) == 40
    assert differences(daily.warehouse, full.warehouse) == []

    # The tags Dagster gives the one run of a backfill over a range (BackfillPolicy.single_run)
    backfill = job.execute_in_process(
        tags={
            "dagster/asset_partition_range_start": DAYS[0].isoformat(),
            "dagster/asset_partition_range_end": DAYS[-1].isoformat(),
        },
        resources=daily.resources(),
    )
    assert backfill.success
    activity = dg.AssetKey(["marts", "fct_user_activity_daily"])
    materialized = {
        event.partition
        for event in backfill.get_asset_materialization_events()
        if event.asset_key == activity
    }
    assert materialized == {day.isoformat() for day in DAYS}
    assert differences(daily.warehouse, full.warehouse) == []


def test_every_asset_of_the_daily_job_has_the_daily_partitions_and_one_run_backfills():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.partitions_def == daily_partitions, key
        assert node.backfill_policy == one_run_per_backfill, key
