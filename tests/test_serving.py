"""The serving copy BI tools read: the public marts only, in a format DuckDB 1.x opens,
swapped in atomically so that a reader held open never blocks a run nor breaks."""

import re
import shutil
import stat
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.runner import run_daily
from orchestration.serving.assets import SERVING_COPY
from orchestration.serving.bi_chart import (
    QUERY,
    draw_weekly_active_users_by_stage,
    stages_in_order,
    weekly_active_users_by_stage,
)
from orchestration.serving.copy import publish_serving_copy
from orchestration.settings import REPO_ROOT, Settings
from tests.browser import PNG_SIGNATURE
from tests.pipeline import END_DATE, Pipeline

# The product events added to the raw folder: new rows the next run brings into the marts
NEW_EVENTS = 40
EVENTS_ON_END_DATE = "sum(event_count) filter (where activity_date = ?)"


def serving_path(pipeline: Pipeline) -> Path:
    return Settings(_env_file=None, FLYWHEEL_WAREHOUSE=pipeline.warehouse).serving_copy_path()


def mart_row_counts(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    # tables and views: the copy makes a table of each (fct_cohort_benchmarks_v1 is a view)
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = 'marts' order by table_name",
        [catalog],
    ).fetchall()
    return {
        table: con.execute(f'select count(*) from "{catalog}".marts."{table}"').fetchone()[0]
        for (table,) in tables
    }


def test_publish_copies_the_public_marts_only(tmp_path):
    warehouse = tmp_path / "flywheel.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""
            create schema marts;
            create schema email;
            create table marts.dim_users as select 'u1' as user_id, 3 as level;
            comment on table marts.dim_users is 'One row per user.';
            comment on column marts.dim_users.level is 'The user''s level.';
            create table email.rpt_email_payloads as select 'a@example.com' as to_email;
            create view marts.active_users as select * from marts.dim_users;
        """)
    target = tmp_path / "bi" / "serving.duckdb"

    published = publish_serving_copy(warehouse, target)

    assert published.path == target
    assert published.rows == {"marts.active_users": 1, "marts.dim_users": 1}
    assert [path.name for path in target.parent.iterdir()] == ["serving.duckdb"]
    assert not target.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(
            "select schema_name, table_name, comment from duckdb_tables() order by 2"
        ).fetchall() == [
            ("marts", "active_users", None),
            ("marts", "dim_users", "One row per user."),
        ]
        assert con.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'dim_users'"
        ).fetchall() == [("user_id", None), ("level", "The user's level.")]
        assert con.execute("select count(*) from duckdb_views() where not internal").fetchone() == (
            0,
        )
        tags = con.execute("select tags from duckdb_databases() where not internal").fetchone()[0]
        assert tags["storage_version"] == "v1.0.0+"


def test_a_run_publishes_the_warehouse_marts(demo_pipeline):
    path = serving_path(demo_pipeline)
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_pipeline.warehouse}' as warehouse (read_only)")
        con.execute(f"attach '{path}' as serving (read_only)")
        warehouse_counts = mart_row_counts(con, "warehouse")
        assert len(warehouse_counts) > 15
        assert mart_row_counts(con, "serving") == warehouse_counts
        assert con.execute(
            "select distinct schema_name from duckdb_tables() where database_name = 'serving'"
        ).fetchall() == [("marts",)]


def test_a_reader_held_open_through_a_run_keeps_its_data_then_sees_the_new(demo_pipeline, tmp_path):
    # A copy of the demo's warehouse, raw files and serving copy: this test adds files.
    pipeline = Pipeline(raw_dir=tmp_path / "raw", warehouse=tmp_path / "flywheel.duckdb")
    shutil.copytree(demo_pipeline.raw_dir, pipeline.raw_dir)
    shutil.copy2(demo_pipeline.warehouse, pipeline.warehouse)
    shutil.copy2(serving_path(demo_pipeline), serving_path(pipeline))
    # New events on the last day: copies of good ones under new ids, in a file of their own.
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        con.execute(
            "copy (select 'new_' || event_id as event_id, user_id, account_id, event_name,"
            " occurred_at, properties from raw.events where event_id in (select event_id from"
            " staging.stg_product__events where cast(occurred_at as date) = ? order by event_id"
            f" limit {NEW_EVENTS})) to '{pipeline.raw_dir / 'events' / 'late.parquet'}'",
            [END_DATE],
        )

    reader = duckdb.connect(str(serving_path(pipeline)), read_only=True)
    try:
        query = f"select {EVENTS_ON_END_DATE} from marts.fct_user_activity_daily"
        before = reader.execute(query, [END_DATE]).fetchone()[0]
        counts_before = mart_row_counts(reader, "flywheel_serving")

        result = run_daily(END_DATE, resources=pipeline.resources())

        assert result.success
        assert SERVING_COPY in {e.asset_key for e in result.get_asset_materialization_events()}
        # the reader still reads the file it opened, whole
        assert reader.execute(query, [END_DATE]).fetchone()[0] == before
        assert mart_row_counts(reader, "flywheel_serving") == counts_before
    finally:
        reader.close()
    with duckdb.connect(str(serving_path(pipeline)), read_only=True) as reconnected:
        assert reconnected.execute(query, [END_DATE]).fetchone()[0] == before + NEW_EVENTS
    assert pipeline.scalar(query, [END_DATE]) == before + NEW_EVENTS


def test_duckdb_1_3_opens_the_serving_copy(demo_pipeline):
    """BI tools bundle DuckDB 1.x drivers; pyproject.toml declares duckdb>=1.3."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        'tables = con.execute("select table_name from duckdb_tables()").fetchall()\n'
        # hash(t): every column of every row read and decoded
        "rows = sum(con.execute(f'select count(hash(t)) from marts.{t} as t').fetchone()[0]"
        " for (t,) in tables)\n"
        "print(duckdb.__version__, len(tables), rows)\n"
    )
    result = subprocess.run(
        [
            uv,
            "run",
            "--no-project",
            "--with",
            "duckdb==1.3.*",
            "python",
            "-c",
            script,
            str(serving_path(demo_pipeline)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    version, tables, rows = result.stdout.split()
    assert version.startswith("1.3.")
    with duckdb.connect(str(serving_path(demo_pipeline)), read_only=True) as con:
        assert int(tables) == len(mart_row_counts(con, "flywheel_serving"))
        assert int(rows) == sum(mart_row_counts(con, "flywheel_serving").values())


def test_the_bi_chart_reads_the_serving_copy_with_the_sql_docs_bi_shows(demo_pipeline, tmp_path):
    shown = re.findall(r"```sql\n(.*?)```", (REPO_ROOT / "docs" / "bi.md").read_text(), re.DOTALL)
    assert QUERY.read_text() in shown, "docs/bi.md does not show the chart's SQL as it is"
    serving_copy = serving_path(demo_pipeline)
    table = weekly_active_users_by_stage(serving_copy)
    assert list(table.columns) == stages_in_order()
    assert len(table) >= 20  # the full weeks of half a year
    # Each active user counts once a week, in one stage: the stages add up to the week's
    # active users.
    with duckdb.connect(str(serving_copy), read_only=True) as con:
        active_users = dict(
            con.execute(
                "select date_trunc('week', activity_date)::date, count(distinct user_id) "
                "from marts.fct_user_activity_daily where is_active group by 1"
            ).fetchall()
        )
    assert {week.date(): users for week, users in table.sum(axis=1).items()} == {
        week: active_users[week] for week in table.index.date
    }
    chart = tmp_path / "chart.png"
    draw_weekly_active_users_by_stage(table, chart)
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
