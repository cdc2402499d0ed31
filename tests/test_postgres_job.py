"""The whole daily job on PostgreSQL: `flywheel run` with DBT_TARGET=postgres on a throwaway
server loads the raw files, builds the models, checks them, renders and sends the e-mails
(outbox) and keeps the send ledger in PostgreSQL; the same run on DuckDB sends the same
e-mails, with the same text, and builds the same public marts.

PostgreSQL must be installed (`make system-deps`); without it these tests fail.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.quality import quality_checks
from orchestration.resources import Warehouse
from orchestration.settings import Settings
from tests.pipeline import END_DATE
from tests.postgres_server import PostgresServer, postgres_server
from tests.warehouse_tables import assert_same_rows, duckdb_table, postgres_table

FLYWHEEL = Path(sys.executable).parent / "flywheel"  # next to the interpreter, as in the venv
TARGETS = ("duckdb", "postgres")
# What each rendered e-mail is made of: its text must be the same, whatever the warehouse.
RENDERED = "email.rendered_emails"
PUBLIC_MARTS = (
    "select table_schema || '.' || table_name from information_schema.tables "
    "where table_schema = 'marts' order by 1"
)
# When each run sent its e-mails (fct_email_sends): the only value of the marts that the
# time of the run decides.
SEND_TIMES = {"sent_at"}
CHECKS = {next(iter(check.check_keys)).name: check for check in quality_checks}
SENT = "select send_key, trigger_type, locale, to_email_hash from email.send_ledger "
SENT += "where status = 'accepted' order by send_key"


@dataclass(frozen=True)
class Run:
    """One `flywheel run` of the test data on one target."""

    target: str
    root: Path
    postgres: PostgresServer
    result: subprocess.CompletedProcess
    seconds: float

    @property
    def duckdb_path(self) -> Path:
        return self.root / "flywheel.duckdb"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def query(self, sql: str) -> list[tuple]:
        if self.target == "duckdb":
            with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
                return con.execute(sql).fetchall()
        with closing(self.postgres.connect()) as con, con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def table(self, relation: str):
        if self.target == "duckdb":
            return duckdb_table(self.duckdb_path, relation)
        return postgres_table(self.postgres, relation)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def runs(tmp_path_factory, postgres: PostgresServer) -> dict[str, Run]:
    """The test data of the pipeline tests (tests/pipeline.py), and `flywheel run` for its
    last day on each target, one after the other (each in its own folder)."""
    from orchestration.demo_data import generate

    raw_dir = tmp_path_factory.mktemp("raw")
    generate(raw_dir, progress=False, accounts=25, days=45, target_events=15_000, end_date=END_DATE)
    runs = {}
    for target in TARGETS:
        root = tmp_path_factory.mktemp(target)
        environment = os.environ | postgres.environment()
        environment |= {
            "DBT_TARGET": target,
            "FLYWHEEL_RAW_DIR": str(raw_dir),
            "FLYWHEEL_WAREHOUSE": str(root / "flywheel.duckdb"),
            "FLYWHEEL_OUTBOX_DIR": str(root / "outbox"),
            "FLYWHEEL_EMAIL_BACKEND": "outbox",
        }
        started = time.monotonic()
        result = subprocess.run(
            [FLYWHEEL, "run", "--as-of", str(END_DATE)],
            env=environment,
            capture_output=True,
            text=True,
        )
        runs[target] = Run(target, root, postgres, result, time.monotonic() - started)
    return runs


def run_failure(run: Run) -> str:
    return (
        f"{run.target} exited {run.result.returncode}:\n{run.result.stdout[-6000:]}\n"
        + (run.result.stderr[-6000:])
    )


@pytest.mark.parametrize("target", TARGETS)
def test_flywheel_run_succeeds(runs, target):
    run = runs[target]
    assert run.result.returncode == 0, run_failure(run)
    print(f"flywheel run on {target}: {run.seconds:.0f} s")


def test_the_warehouse_is_postgres_and_there_is_no_duckdb_file(runs):
    """Every step of the PostgreSQL run wrote to PostgreSQL: no DuckDB warehouse or serving
    copy appears, and the summary names the PostgreSQL database."""
    run = runs["postgres"]
    assert run.result.returncode == 0, run_failure(run)
    assert not run.duckdb_path.exists()
    assert list(run.root.glob("*.duckdb")) == []
    assert f"postgresql://{run.postgres.user}@" in run.result.stdout
    tables = {
        name
        for (name,) in run.query(
            "select table_schema || '.' || table_name from information_schema.tables"
        )
    }
    assert {"raw.events", "raw._loaded_files", "email.send_ledger", RENDERED} <= tables


def test_the_same_emails_go_out(runs):
    """The same send keys accepted, the same outbox files, the same rendered e-mails."""
    for run in runs.values():
        assert run.result.returncode == 0, run_failure(run)
    duck, pg = runs["duckdb"], runs["postgres"]
    sent = duck.query(SENT)
    assert len(sent) > 10
    assert pg.query(SENT) == sent
    files = sorted(path.name for path in duck.outbox.iterdir())
    assert len(files) >= 2 * len(sent)
    assert sorted(path.name for path in pg.outbox.iterdir()) == files
    assert assert_same_rows(RENDERED, duck.table(RENDERED), pg.table(RENDERED)) == len(sent)


def test_the_public_marts_are_equal(runs):
    for run in runs.values():
        assert run.result.returncode == 0, run_failure(run)
    duck, pg = runs["duckdb"], runs["postgres"]
    relations = [name for (name,) in duck.query(PUBLIC_MARTS)]
    assert len(relations) > 10
    assert [name for (name,) in pg.query(PUBLIC_MARTS)] == relations
    for relation in relations:
        assert_same_rows(relation, duck.table(relation), pg.table(relation), SEND_TIMES)


@pytest.fixture
def pg_warehouse(runs) -> Warehouse:
    """The PostgreSQL run's warehouse, as the job's resource reads it."""
    run = runs["postgres"]
    assert run.result.returncode == 0, run_failure(run)
    return Warehouse.from_settings(
        Settings(_env_file=None, DBT_TARGET="postgres", **run.postgres.environment())
    )


def run_check(name: str, warehouse: Warehouse) -> dg.AssetCheckResult:
    context = dg.build_asset_check_context(resources={"warehouse": warehouse})
    return CHECKS[name](context)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_validates_in_postgres(pg_warehouse, name):
    """Great Expectations' SQL data source runs every suite in the database."""
    result = run_check(name, pg_warehouse)
    assert result.passed, result.description
    assert result.metadata["evaluated_expectations"].value > 0
    assert min(result.metadata["rows_validated"].value.values()) > 0


@pytest.mark.parametrize(
    ("name", "breakage", "repair", "message"),
    [
        (
            "payloads_exclude_holdout",
            "update marts.dim_users set is_holdout = true where user_id = %(user_id)s",
            "update marts.dim_users set is_holdout = false where user_id = %(user_id)s",
            "holdout user {user_id} has",
        ),
        (
            "payloads_have_recipient",
            "update email.rpt_email_payloads set email = ' ' where send_key = %(send_key)s",
            "update email.rpt_email_payloads set email = %(email)s where send_key = %(send_key)s",
            "1 payload(s) without an e-mail address, e.g. {send_key}",
        ),
    ],
)
def test_a_failed_check_names_the_row_in_postgres(
    pg_warehouse, runs, name, breakage, repair, message
):
    """A failed expectation, evaluated in PostgreSQL, names the offending row."""
    postgres = runs["postgres"].postgres
    with closing(postgres.connect()) as con:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute(
                "select send_key, user_id, email from email.rpt_email_payloads "
                "order by send_key limit 1"
            )
            send_key, user_id, email = cursor.fetchone()
            row = {"send_key": send_key, "user_id": user_id, "email": email}
            cursor.execute(breakage, row)
            try:
                result = run_check(name, pg_warehouse)
            finally:
                cursor.execute(repair, row)
    assert not result.passed
    assert message.format(**row) in result.description


def test_the_serving_copy_is_the_marts_schema(pg_warehouse, runs):
    """On PostgreSQL nothing is copied: the asset says BI tools read the marts schema."""
    from orchestration.serving.assets import SERVING_COPY, serving_marts
    from orchestration.serving.copy import ServingCopy

    settings = Settings(_env_file=None, DBT_TARGET="postgres")
    result = dg.materialize(
        [serving_marts],
        partition_key=str(END_DATE),
        resources={"warehouse": pg_warehouse, "serving_copy": ServingCopy.from_settings(settings)},
    )
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == SERVING_COPY
    metadata = event.materialization.metadata
    assert metadata["published"].value is False
    assert "schema marts of postgresql://" in metadata["serving_layer"].value
    assert list(runs["postgres"].root.glob("*.duckdb")) == []
