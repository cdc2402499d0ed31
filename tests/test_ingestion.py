"""Raw ingestion: incremental, idempotent, and a bad file is set aside alone and clearly."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.ingestion.assets import NO_FILE_SET_ASIDE, raw_tables
from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import (
    CHANGED_AFTER_LOAD,
    ensure_raw_schema,
    load_file,
    load_table,
)
from orchestration.resources import RawDirectory, Warehouse


def write_events(path: Path, ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "event_id": ids,
            "user_id": "usr_1",
            "account_id": "acc_1",
            "event_name": "task_completed",
            "occurred_at": "2026-03-01T10:00:00Z",
            "properties": None,
        }
    )
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.astype("string").to_parquet(path, index=False)


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from raw.{table}").fetchone()[0]


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        ensure_raw_schema(connection)
        yield connection


def ledger(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select file_path, status, row_count, reason from raw._loaded_files order by 1"
    ).fetchall()


def test_loading_twice_adds_nothing_and_a_new_file_adds_only_its_rows(tmp_path, con):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "2026-03-01.parquet", ["e1", "e2", "e3"])
    write_events(raw / "events" / "2026-03-02.csv", ["e4", "e5"])

    first = load_table(con, raw, "events")
    assert [(load.status, load.rows) for load in first] == [("loaded", 3), ("loaded", 2)]
    assert count(con, "events") == 5

    second = load_table(con, raw, "events")
    assert {load.status for load in second} == {"skipped"}
    assert count(con, "events") == 5

    write_events(raw / "events" / "2026-03-03.parquet", ["e6"])
    third = load_table(con, raw, "events")
    assert [(load.file, load.status) for load in third if load.status == "loaded"] == [
        ("events/2026-03-03.parquet", "loaded")
    ]
    assert count(con, "events") == 6


def test_rows_keep_their_file_and_line(tmp_path, con):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "day.csv", ["a", "b", "c"])
    load_table(con, raw, "events")
    rows = con.execute(
        "select event_id, _source_file, _source_row from raw.events order by _source_row"
    ).fetchall()
    assert rows == [
        ("a", "events/day.csv", 1),
        ("b", "events/day.csv", 2),
        ("c", "events/day.csv", 3),
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("wrong_columns.csv", b"id,name\n1,x\n", "missing column(s) event_id"),
        ("binary.parquet", b"\x00\x01 not parquet at all", "could not be read"),
        ("notes.json", b'{"event_id": "e9"}', "unsupported file type '.json'"),
    ],
)
def test_a_broken_file_is_set_aside_with_its_reason_and_changes_nothing(
    tmp_path, con, name, content, problem
):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "2026-03-01.parquet", ["e1", "e2"])
    load_table(con, raw, "events")
    (raw / "events" / name).write_bytes(content)
    write_events(raw / "events" / "2026-03-02.parquet", ["e3"])

    loads = load_table(con, raw, "events")

    (rejected,) = [load for load in loads if load.set_aside]
    assert (rejected.file, rejected.status) == (f"events/{name}", "rejected")
    assert problem in rejected.reason and not rejected.reported_before
    assert [load.file for load in loads if load.status == "loaded"] == ["events/2026-03-02.parquet"]
    assert count(con, "events") == 3
    assert ledger(con) == sorted(
        [
            ("events/2026-03-01.parquet", "loaded", 2, None),
            ("events/2026-03-02.parquet", "loaded", 1, None),
            (f"events/{name}", "rejected", 0, rejected.reason),
        ]
    )
    assert (raw / "events" / name).read_bytes() == content  # left where it was, as it was


def test_a_rejected_file_stays_rejected_quietly_and_loads_once_corrected(tmp_path, con):
    raw = tmp_path / "raw"
    path = raw / "events" / "2026-03-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text("id,name\n1,x\n")
    (first,) = load_table(con, raw, "events")
    rejected_at = con.execute("select loaded_at from raw._loaded_files").fetchone()

    (again,) = load_table(con, raw, "events")
    assert (again.status, again.reason, again.reported_before) == ("rejected", first.reason, True)
    assert con.execute("select loaded_at from raw._loaded_files").fetchone() == rejected_at

    write_events(path, ["e1", "e2"])  # corrected: new content, same path
    (corrected,) = load_table(con, raw, "events")
    assert (corrected.status, corrected.rows) == ("loaded", 2)
    assert ledger(con) == [("events/2026-03-01.csv", "loaded", 2, None)]
    assert count(con, "events") == 2


def test_a_rejected_file_that_is_gone_leaves_the_ledger(tmp_path, con):
    raw = tmp_path / "raw"
    bad = raw / "events" / "bad.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("id,name\n1,x\n")
    load_table(con, raw, "events")
    bad.rename(bad.with_name("_bad.csv"))  # a leading `_` keeps a file out of the load

    assert load_table(con, raw, "events") == []
    assert ledger(con) == []


def test_a_file_changed_after_loading_is_set_aside_until_restored(tmp_path, con):
    raw = tmp_path / "raw"
    path = raw / "events" / "2026-03-01.csv"
    write_events(path, ["e1"])
    original = path.read_bytes()
    load_file(con, raw, RAW_TABLES["events"], path)
    write_events(path, ["e1", "e2"])

    changed = load_file(con, raw, RAW_TABLES["events"], path)
    assert (changed.status, changed.reason) == ("changed", CHANGED_AFTER_LOAD)
    assert load_file(con, raw, RAW_TABLES["events"], path).reported_before
    assert count(con, "events") == 1  # the rows loaded before stay, the change is not loaded
    assert ledger(con) == [("events/2026-03-01.csv", "changed", 1, CHANGED_AFTER_LOAD)]

    path.write_bytes(original)
    assert load_file(con, raw, RAW_TABLES["events"], path).status == "skipped"
    assert ledger(con) == [("events/2026-03-01.csv", "loaded", 1, None)]


def test_a_ledger_from_before_the_status_reads_as_loaded(tmp_path):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "day.csv", ["e1"])
    with duckdb.connect(str(tmp_path / "old.duckdb")) as old:
        old.execute("create schema raw")
        old.execute(
            "create table raw._loaded_files (table_name varchar not null, "
            "file_path varchar not null, sha256 varchar not null, row_count bigint not null, "
            "loaded_at timestamp not null, primary key (table_name, file_path))"
        )
        old.execute(
            "insert into raw._loaded_files values ('events', 'events/old.csv', 'x', 3, now())"
        )
        ensure_raw_schema(old)
        ensure_raw_schema(old)  # again: nothing to add
        load_table(old, raw, "events")
        assert ledger(old) == [
            ("events/day.csv", "loaded", 1, None),
            ("events/old.csv", "loaded", 3, None),
        ]


def test_optional_columns_may_be_absent(tmp_path, con):
    raw = tmp_path / "raw"
    path = raw / "unsubscribes" / "list.csv"
    path.parent.mkdir(parents=True)
    path.write_text("email,unsubscribed_at\nann@example.com,2026-03-01T00:00:00Z\n")
    load_table(con, raw, "unsubscribes")
    assert con.execute('select email, "group" from raw.unsubscribes').fetchall() == [
        ("ann@example.com", None)
    ]


def test_the_asset_sets_the_bad_file_aside_and_loads_the_good_ones(tmp_path):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "good.parquet", ["e1"])
    (raw / "events" / "bad.csv").write_text("this is not,a table\n")
    warehouse = tmp_path / "warehouse.duckdb"

    result = dg.materialize(
        [raw_tables],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "raw_directory": RawDirectory(path=str(raw)),
        },
    )

    assert result.success
    events = dg.AssetKey(["raw", "events"])
    metadata = result.asset_materializations_for_node("raw_tables")
    (materialization,) = [m for m in metadata if m.asset_key == events]
    assert materialization.metadata["set_aside_files"].value == 1
    assert "`events/bad.csv` (rejected)" in materialization.metadata["set_aside"].value
    evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {dg.AssetKey(["raw", table]) for table in RAW_TABLES}
    failed = [e for e in evaluations.values() if not e.passed]
    assert [(e.asset_key, e.check_name, e.severity) for e in failed] == [
        (events, NO_FILE_SET_ASIDE, dg.AssetCheckSeverity.WARN)
    ]
    assert "events/bad.csv (rejected): is not a valid 'events' file" in failed[0].description
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert count(con, "events") == 1


def test_flywheel_load_lists_the_files_set_aside_and_exits_1(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from orchestration.cli import main

    raw = tmp_path / "raw"
    write_events(raw / "events" / "good.csv", ["e1"])
    (raw / "events" / "bad.csv").write_text("id,name\n1,x\n")
    monkeypatch.setenv("FLYWHEEL_RAW_DIR", str(raw))
    monkeypatch.setenv("FLYWHEEL_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    first = CliRunner().invoke(main, ["load"])
    second = CliRunner().invoke(main, ["load"])

    assert first.exit_code == 1
    assert "duckdb: 1 new file(s), 1 row(s)" in first.output
    assert "1 file(s) set aside" in first.output
    assert "- events/bad.csv (rejected): is not a valid 'events' file" in first.output
    assert second.exit_code == 1
    assert "(unchanged since an earlier load)" in second.output
