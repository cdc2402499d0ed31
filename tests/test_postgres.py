"""PostgreSQL, the second real warehouse: the same raw data loaded and the same dbt project
built on DuckDB and on a throwaway PostgreSQL server give the same public marts.

PostgreSQL must be installed (`make system-deps`); without it these tests fail.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow
import pyarrow.parquet
import pytest

from orchestration.email_hash import dbt_environment
from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import (
    CHANGED_AFTER_LOAD,
    load_file,
    load_raw_directory,
    load_table,
    postgres_raw_writer,
)
from orchestration.settings import REPO_ROOT, Settings
from tests.hmac_cases import assert_hmacs_match_python, dbt_show_arguments, shown_rows
from tests.pipeline import END_DATE
from tests.postgres_server import PostgresServer, postgres_server
from tests.warehouse_tables import Table, assert_same_rows, duckdb_table, postgres_table

DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"  # next to the interpreter, as in the venv
# Every model under models/marts and models/reports: the public marts (schema `marts`) and
# the e-mail payloads.
MART_MODELS = sorted(
    path.stem
    for layer in ("marts", "reports")
    for path in (DBT_PROJECT / "models" / layer).rglob("*.sql")
)
TARGETS = ("duckdb", "postgres")
# The e-mail hash key dbt gets on both targets, as docs/architecture.md tells to run dbt by hand.
EMAIL_HASH_KEY = Settings(_env_file=None).email_hash_key()
EVENTS_HEADER = b"event_id,user_id,account_id,event_name,occurred_at,properties\n"


@dataclass(frozen=True)
class Warehouses:
    raw_dir: Path
    duckdb_path: Path
    postgres: PostgresServer
    work_dir: Path

    def environment(self) -> dict[str, str]:
        environment = os.environ | self.postgres.environment()
        return (
            environment
            | dbt_environment(EMAIL_HASH_KEY, environment)
            | {"FLYWHEEL_WAREHOUSE": str(self.duckdb_path)}
        )

    def dbt(self, target: str, *args: str) -> subprocess.CompletedProcess:
        """dbt on one target, with its own target and log folders."""
        command = [
            str(DBT),
            *args,
            "--target",
            target,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(self.work_dir / f"target-{target}"),
            "--log-path",
            str(self.work_dir / f"logs-{target}"),
        ]
        return subprocess.run(command, env=self.environment(), capture_output=True, text=True)

    def table(self, target: str, relation: str) -> Table:
        """The column names and normalised rows of a relation, without the load time."""
        if target == "duckdb":
            return duckdb_table(self.duckdb_path, relation)
        return postgres_table(self.postgres, relation)


def dbt_failure(result: subprocess.CompletedProcess) -> str:
    return f"dbt exited {result.returncode}:\n{result.stdout[-8000:]}{result.stderr[-2000:]}"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def generate_test_data(raw_dir: Path) -> None:
    """Dirty generated data (every kind of bad row), small enough for a test's second engine."""
    from orchestration.demo_data import generate

    generate(
        raw_dir,
        progress=False,
        accounts=25,
        days=45,
        target_events=15_000,
        end_date=END_DATE,
        dirty=True,
        email_history=True,
    )


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory, postgres: PostgresServer) -> Iterator[Warehouses]:
    """Dirty generated data (every kind of bad row) loaded into both warehouses."""
    root = tmp_path_factory.mktemp("postgres")
    raw_dir = root / "raw"
    generate_test_data(raw_dir)
    warehouses = Warehouses(raw_dir, root / "flywheel.duckdb", postgres, root)
    for target in TARGETS:  # as an operator does: `flywheel load`, then dbt
        loaded = subprocess.run(
            [Path(sys.executable).parent / "flywheel", "load"],
            env=warehouses.environment() | {"DBT_TARGET": target, "FLYWHEEL_RAW_DIR": str(raw_dir)},
            capture_output=True,
            text=True,
        )
        assert loaded.returncode == 0, loaded.stderr
        assert loaded.stdout.startswith(f"{target}: "), loaded.stdout
    yield warehouses


def dbt_on_both(warehouses: Warehouses, *args: str) -> dict[str, subprocess.CompletedProcess]:
    """The same dbt command on both targets, side by side."""
    with ThreadPoolExecutor(max_workers=len(TARGETS)) as pool:
        runs = {target: pool.submit(warehouses.dbt, target, *args) for target in TARGETS}
        return {target: run.result() for target, run in runs.items()}


@pytest.fixture(scope="module")
def builds(warehouses: Warehouses) -> dict[str, subprocess.CompletedProcess]:
    """`dbt build` as the daily job runs it (unit tests excluded), on both targets."""
    day = json.dumps({"as_of_date": str(END_DATE)})
    return dbt_on_both(warehouses, "build", "--exclude", "test_type:unit", "--vars", day)


def assert_same_table(warehouses: Warehouses, relation: str) -> int:
    """The relation has the same columns and rows on both targets; its row count."""
    return assert_same_rows(
        relation, warehouses.table("duckdb", relation), warehouses.table("postgres", relation)
    )


def test_raw_tables_are_identical(warehouses: Warehouses):
    for table in RAW_TABLES:
        assert assert_same_table(warehouses, f"raw.{table}") > 0, table
    assert assert_same_table(warehouses, "raw._loaded_files") > 0


@pytest.mark.parametrize("target", TARGETS)
def test_dbt_build_passes(builds, target):
    assert builds[target].returncode == 0, dbt_failure(builds[target])


@pytest.mark.parametrize("model", MART_MODELS)
def test_public_marts_are_identical(warehouses: Warehouses, builds, model):
    for target in TARGETS:
        if builds[target].returncode != 0:
            pytest.fail(f"the {target} build failed:\n{dbt_failure(builds[target])}")
    assert_same_table(warehouses, model_relation(warehouses.work_dir / "target-postgres", model))


def test_comments_and_primary_keys_are_the_same_on_both(warehouses: Warehouses, builds):
    """persist_docs and the contracts' primary keys: PostgreSQL's obj_description and
    col_description, and its primary keys, are DuckDB's, every description rendered."""
    for target in TARGETS:
        assert builds[target].returncode == 0, dbt_failure(builds[target])
    manifest = json.loads((warehouses.work_dir / "target-postgres" / "manifest.json").read_text())
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "email")
    ]
    relations = {(node["schema"], node["alias"]) for node in models}
    # a view holds no constraint (fct_cohort_benchmarks_v1: its table, v2, has the key)
    tables = {
        (node["schema"], node["alias"])
        for node in models
        if node["config"]["materialized"] != "view"
    }
    found = {target: _comments_and_keys(warehouses, target) for target in TARGETS}
    for target in TARGETS:
        comments, keys = found[target]
        assert tables <= set(keys), (target, sorted(tables - set(keys)))
        mine = [text for key, text in comments.items() if key[:2] in relations]
        assert len(mine) > 300 and all(mine), target
        assert not [text for text in mine if "{{" in text], target
    (duck_comments, duck_keys), (pg_comments, pg_keys) = found["duckdb"], found["postgres"]
    assert {k: v for k, v in pg_comments.items() if k[:2] in relations} == {
        k: v for k, v in duck_comments.items() if k[:2] in relations
    }
    assert {k: v for k, v in pg_keys.items() if k in relations} == {
        k: v for k, v in duck_keys.items() if k in relations
    }


def _comments_and_keys(warehouses: Warehouses, target: str) -> tuple[dict, dict]:
    """The comments of the tables and views (column None) and their columns in schemas marts
    and email, and each table's primary key columns."""
    if target == "duckdb":
        with duckdb.connect(str(warehouses.duckdb_path), read_only=True) as con:
            comments = con.execute(
                "select schema_name, table_name, null, comment from duckdb_tables() "
                "where schema_name in ('marts', 'email') union all "
                "select schema_name, view_name, null, comment from duckdb_views() "
                "where schema_name in ('marts', 'email') union all "
                "select schema_name, table_name, column_name, comment from duckdb_columns() "
                "where schema_name in ('marts', 'email')"
            ).fetchall()
            keys = con.execute(
                "select schema_name, table_name, constraint_column_names "
                "from duckdb_constraints() where constraint_type = 'PRIMARY KEY'"
            ).fetchall()
    else:
        with closing(warehouses.postgres.connect()) as con, con.cursor() as cursor:
            cursor.execute(
                "select n.nspname, c.relname, null, obj_description(c.oid, 'pg_class') "
                "from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
                "where n.nspname in ('marts', 'email') and c.relkind in ('r', 'v') union all "
                "select n.nspname, c.relname, a.attname, col_description(c.oid, a.attnum) "
                "from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
                "join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 "
                "and not a.attisdropped "
                "where n.nspname in ('marts', 'email') and c.relkind in ('r', 'v')"
            )
            comments = cursor.fetchall()
            cursor.execute(
                "select n.nspname, c.relname, array_agg(a.attname::text order by k.ord) "
                "from pg_constraint as con join pg_class as c on c.oid = con.conrelid "
                "join pg_namespace as n on n.oid = c.relnamespace "
                "cross join unnest(con.conkey) with ordinality as k(attnum, ord) "
                "join pg_attribute as a on a.attrelid = c.oid and a.attnum = k.attnum "
                "where con.contype = 'p' group by n.nspname, c.relname"
            )
            keys = cursor.fetchall()
    return (
        {(schema, table, column): text for schema, table, column, text in comments},
        {(schema, table): list(columns) for schema, table, columns in keys},
    )


def test_an_incremental_window_gives_the_same_rows(warehouses: Warehouses, builds):
    """A partition run (min_date..max_date) takes the incremental path of the activity models,
    carrying their state from the day before the window."""
    relations = [
        "marts.fct_user_activity_daily",
        "intermediate.int_user_metrics_daily",
        "intermediate.int_account_metrics_daily",
        "marts.fct_time_saved",
        "marts.fct_user_streaks",
    ]
    window = {"as_of_date": str(END_DATE), "min_date": "2026-03-20", "max_date": str(END_DATE)}
    models = [relation.split(".")[1] for relation in relations]
    args = ["build", "--select", *models, "--exclude", "test_type:unit"]
    for target, result in dbt_on_both(warehouses, *args, "--vars", json.dumps(window)).items():
        assert result.returncode == 0, f"{target}: {dbt_failure(result)}"
        for relation in relations:
            assert f"incremental model {relation}" in result.stdout, (target, relation)
    for relation in relations:
        assert assert_same_table(warehouses, relation) > 0, relation


def test_dbt_unit_tests_pass_on_postgres(warehouses: Warehouses, builds):
    """The unit tests need their input models to exist: they run after the build."""
    result = warehouses.dbt("postgres", "test", "--select", "test_type:unit")
    run_results = json.loads(
        (warehouses.work_dir / "target-postgres" / "run_results.json").read_text()
    )
    results = [r for r in run_results["results"] if r["unique_id"].startswith("unit_test.")]
    failed = [r["unique_id"] for r in results if r["status"] != "pass"]
    assert len(results) >= 30, dbt_failure(result)
    assert failed == [], dbt_failure(result)


def test_the_hmac_macro_matches_python_on_postgres(warehouses: Warehouses, builds):
    """macros/cross_db/hmac_sha256.sql on PostgreSQL (from sha256(), without pgcrypto), and the
    e-mail hash under the key given to every dbt connection through PGOPTIONS."""
    result = warehouses.dbt("postgres", *dbt_show_arguments())
    assert result.returncode == 0, dbt_failure(result)
    assert_hmacs_match_python(shown_rows(result.stdout), EMAIL_HASH_KEY)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("wrong_columns.csv", b"id,name\n1,x\n", "missing column(s) event_id"),
        ("binary.parquet", b"\x00\x01 not parquet at all", "could not be read"),
        ("notes.json", b'{"event_id": "e9"}', "unsupported file type '.json'"),
        # PostgreSQL's text has no NUL character: DuckDB would load this file.
        ("nul.csv", EVENTS_HEADER + b"e9,usr_1,acc_1,task\x00,2026-03-01,\n", "could not be read"),
    ],
)
def test_a_broken_file_is_set_aside_alone_on_postgres(tmp_path, postgres, name, content, problem):
    """The DuckDB loader's semantics (tests/test_ingestion.py) on PostgreSQL."""
    raw = tmp_path / "raw"
    good = raw / "events" / "2026-03-01.csv"
    good.parent.mkdir(parents=True)
    good.write_bytes(
        EVENTS_HEADER
        + b'e1,usr_1,acc_1,task_completed,2026-03-01T10:00:00Z,"{""a"": 1}"\n'
        + b"e2,usr_1,acc_1,task_completed,2026-03-01T11:00:00Z,\n"
    )
    # Parquet keeps null and the empty string apart: so must the load
    pyarrow.parquet.write_table(
        pyarrow.table(
            {column: ["e3", None] for column in RAW_TABLES["events"].columns[:-1]}
        ).append_column("properties", pyarrow.array(["", None])),
        raw / "events" / "2026-03-02.parquet",
    )
    (raw / "events" / name).write_bytes(content)
    database = f"broken_{name.replace('.', '_')}"
    postgres.create_database(database)
    with postgres_raw_writer(**postgres.connect_args(database)) as writer:
        loads = load_raw_directory(writer, raw)

        assert [(load.file, load.status, load.rows) for load in loads] == sorted(
            [
                ("events/2026-03-01.csv", "loaded", 2),
                ("events/2026-03-02.parquet", "loaded", 2),
                (f"events/{name}", "rejected", 0),
            ]
        )
        (rejected,) = [load for load in loads if load.set_aside]
        assert problem in rejected.reason
        # loading again skips the loaded files and leaves the rejected one as it is recorded;
        # a loaded file that changed is set aside, its rows stay
        again = {load.file: load for load in load_table(writer, raw, "events")}
        assert again.pop(rejected.file).reported_before
        assert {load.status for load in again.values()} == {"skipped"}
        good.write_bytes(good.read_bytes() + b"e4,usr_1,acc_1,task_completed,2026-03-02,\n")
        assert load_file(writer, raw, RAW_TABLES["events"], good).status == "changed"
        assert writer.row_count("events") == 4
        with writer.connection.cursor() as cursor:
            cursor.execute(
                "select event_id, properties, _source_file, _source_row "
                "from raw.events order by 3, 4"
            )
            assert cursor.fetchall() == [
                ("e1", '{"a": 1}', "events/2026-03-01.csv", 1),
                ("e2", None, "events/2026-03-01.csv", 2),
                ("e3", "", "events/2026-03-02.parquet", 1),
                (None, None, "events/2026-03-02.parquet", 2),
            ]
            cursor.execute(
                "select file_path, status, row_count, reason from raw._loaded_files order by 1"
            )
            assert cursor.fetchall() == sorted(
                [
                    ("events/2026-03-01.csv", "changed", 2, CHANGED_AFTER_LOAD),
                    ("events/2026-03-02.parquet", "loaded", 2, None),
                    (f"events/{name}", "rejected", 0, rejected.reason),
                ]
            )


def model_relation(target_path: Path, model: str) -> str:
    """The relation built from the model file `<model>.sql`, from the manifest in dbt's
    target folder (a model version's node is not named after its file)."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    (node,) = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and Path(node["original_file_path"]).stem == model
    ]
    return f"{node['schema']}.{node['alias']}"
