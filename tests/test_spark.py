"""Apache Spark, the engine past one machine: the raw data of tests/test_postgres.py, loaded
into DuckDB and copied from there into a local Spark, and the dbt project built on both give
the same public marts.

dbt runs in this process (dbtRunner), so dbt-spark's `session` method and the test share one
pyspark session and its Hive catalog (an embedded Derby database allows one process). Spark
needs Java (`make system-deps`) and the `spark` dependency group (`make test` syncs it).
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow
import pytest
from dbt.cli.main import dbtRunner
from pyspark.sql import SparkSession

from orchestration.email_hash import dbt_environment
from orchestration.ingestion.loader import load_raw_directory
from tests.pipeline import END_DATE
from tests.test_postgres import (
    DBT,
    DBT_PROJECT,
    EMAIL_HASH_KEY,
    MART_MODELS,
    dbt_failure,
    generate_test_data,
    model_relation,
)
from tests.warehouse_tables import Table, assert_same_rows, duckdb_table, normalised_table

JAVA_HINT = "Java is not installed: Spark needs it (`make system-deps`: openjdk-17-jre-headless)."
TARGETS = ("duckdb", "spark")


@dataclass(frozen=True)
class Warehouses:
    duckdb_path: Path
    work_dir: Path

    def dbt(self, target: str, *args: str) -> tuple[bool, str]:
        """dbt on one target: whether it succeeded, and what failed. Spark's in this process;
        DuckDB's in its own, as dbt-duckdb keeps its database open in the process that ran it."""
        target_path = self.work_dir / f"target-{target}"
        arguments = [
            *args,
            "--target",
            target,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(target_path),
            "--log-path",
            str(self.work_dir / f"logs-{target}"),
        ]
        if target == "duckdb":
            result = subprocess.run([str(DBT), *arguments], capture_output=True, text=True)
            return result.returncode == 0, dbt_failure(result)
        result = dbtRunner().invoke(arguments)
        failures = ""
        if (target_path / "run_results.json").exists():
            run_results = json.loads((target_path / "run_results.json").read_text())
            failures = "\n".join(
                f"{r['unique_id']}: {r['status']}: {r['message']}"
                for r in run_results["results"]
                if r["status"] not in ("success", "pass")
            )
        return result.success, failures or str(result.exception)

    def table(self, target: str, relation: str) -> Table:
        """The column names and normalised rows of a relation, without the load time."""
        if target == "duckdb":
            return duckdb_table(self.duckdb_path, relation)
        table = SparkSession.builder.getOrCreate().table(relation).toArrow()
        rows = [tuple(row.values()) for row in table.to_pylist()]
        return normalised_table(table.column_names, rows)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> Iterator[Warehouses]:
    """The test data loaded into DuckDB and its raw tables copied into Spark, in the session
    that dbt started from the profile's `spark` target to load the seeds."""
    if shutil.which("java") is None:
        pytest.fail(JAVA_HINT, pytrace=False)
    root = tmp_path_factory.mktemp("spark")
    generate_test_data(root / "raw")
    warehouses = Warehouses(root / "flywheel.duckdb", root)
    with pytest.MonkeyPatch.context() as environment:
        for name, value in (
            dbt_environment(EMAIL_HASH_KEY)
            | {
                "FLYWHEEL_WAREHOUSE": str(warehouses.duckdb_path),
                "FLYWHEEL_SPARK_WAREHOUSE": str(root / "spark"),
                "FLYWHEEL_SPARK_MASTER": "local[2]",
                "FLYWHEEL_SPARK_SHUFFLE_PARTITIONS": "2",
            }
        ).items():
            environment.setenv(name, value)
        with duckdb.connect(str(warehouses.duckdb_path)) as con:
            load_raw_directory(con, root / "raw")
        seeded, problem = warehouses.dbt("spark", "seed")
        assert seeded, problem
        spark = SparkSession.builder.getOrCreate()
        spark.sql("create schema if not exists raw")
        with duckdb.connect(str(warehouses.duckdb_path), read_only=True) as con:
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall():
                rows = con.execute(f'select * from raw."{table}"').to_arrow_table()
                spark.createDataFrame(_utc_timestamps(rows)).write.saveAsTable(f"raw.{table}")
        yield warehouses
        spark.stop()


def _utc_timestamps(table: pyarrow.Table) -> pyarrow.Table:
    """DuckDB's naive UTC timestamps as instants, Spark's `timestamp` (not timestamp_ntz)."""
    schema = pyarrow.schema(
        field.with_type(pyarrow.timestamp("us", tz="UTC"))
        if pyarrow.types.is_timestamp(field.type)
        else field
        for field in table.schema
    )
    return table.cast(schema)


@pytest.fixture(scope="module")
def builds(warehouses: Warehouses) -> dict[str, tuple[bool, str]]:
    """`dbt build` as the daily job runs it (unit tests excluded), on both targets."""
    day = json.dumps({"as_of_date": str(END_DATE)})
    build = ["build", "--exclude", "test_type:unit", "--vars", day]
    # Spark's statements are mostly planning, in its driver: two at a time use both cores
    return {
        "duckdb": warehouses.dbt("duckdb", *build),
        "spark": warehouses.dbt("spark", *build, "--threads", "2"),
    }


@pytest.mark.parametrize("target", TARGETS)
def test_dbt_build_passes(builds, target):
    succeeded, failures = builds[target]
    assert succeeded, failures


@pytest.mark.parametrize("model", MART_MODELS)
def test_public_marts_are_identical(warehouses: Warehouses, builds, model):
    relation = model_relation(warehouses.work_dir / "target-spark", model)
    assert_same_rows(
        relation, warehouses.table("duckdb", relation), warehouses.table("spark", relation)
    )
