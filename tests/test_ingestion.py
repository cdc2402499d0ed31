"""Raw ingestion: incremental, idempotent, and a bad file fails alone and clearly."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.ingestion.assets import raw_tables
from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import RawFileError, ensure_raw_schema, load_file, load_table
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


def test_loading_twice_adds_nothing_and_a_new_file_adds_only_its_rows(tmp_path, con):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "2026-03-01.parquet", ["e1", "e2", "e3"])
    write_events(raw / "events" / "2026-03-02.csv", ["e4", "e5"])

    first, errors = load_table(con, raw, "events")
    assert errors == []
    assert [load.rows for load in first] == [3, 2]
    assert count(con, "events") == 5

    second, _ = load_table(con, raw, "events")
    assert {load.status for load in second} == {"skipped"}
    assert count(con, "events") == 5

    write_events(raw / "events" / "2026-03-03.parquet", ["e6"])
    third, _ = load_table(con, raw, "events")
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
def test_a_broken_file_fails_clearly_and_changes_nothing(tmp_path, con, name, content, problem):
    raw = tmp_path / "raw"
    write_events(raw / "events" / "2026-03-01.parquet", ["e1", "e2"])
    load_table(con, raw, "events")
    (raw / "events" / name).write_bytes(content)
    write_events(raw / "events" / "2026-03-02.parquet", ["e3"])

    loads, errors = load_table(con, raw, "events")

    assert len(errors) == 1
    assert errors[0].file == f"events/{name}"
    assert problem in str(errors[0])
    assert [load.file for load in loads if load.status == "loaded"] == ["events/2026-03-02.parquet"]
    assert count(con, "events") == 3
    ledger = con.execute("select file_path from raw._loaded_files order by 1").fetchall()
    assert ledger == [("events/2026-03-01.parquet",), ("events/2026-03-02.parquet",)]


def test_a_file_changed_after_loading_is_rejected(tmp_path, con):
    raw = tmp_path / "raw"
    path = raw / "events" / "2026-03-01.csv"
    write_events(path, ["e1"])
    load_file(con, raw, RAW_TABLES["events"], path)
    write_events(path, ["e1", "e2"])
    with pytest.raises(RawFileError, match="changed after it was loaded"):
        load_file(con, raw, RAW_TABLES["events"], path)
    assert count(con, "events") == 1


def test_optional_columns_may_be_absent(tmp_path, con):
    raw = tmp_path / "raw"
    path = raw / "unsubscribes" / "list.csv"
    path.parent.mkdir(parents=True)
    path.write_text("email,unsubscribed_at\nann@example.com,2026-03-01T00:00:00Z\n")
    load_table(con, raw, "unsubscribes")
    assert con.execute('select email, "group" from raw.unsubscribes').fetchall() == [
        ("ann@example.com", None)
    ]


def test_the_asset_names_the_bad_file_and_keeps_the_good_ones(tmp_path):
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
        raise_on_error=False,
    )

    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert "events/bad.csv" in failure.step_failure_data.error.message
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert count(con, "events") == 1
