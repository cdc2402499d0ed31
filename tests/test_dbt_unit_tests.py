"""dbt's unit tests: every rule checked on fixed inputs (they are excluded from data runs)."""

import duckdb
from dagster_dbt import DbtCliResource

from orchestration.dbt.project import flywheel_dbt
from orchestration.ingestion.loader import ensure_raw_schema


def test_dbt_unit_tests_pass(tmp_path, monkeypatch):
    warehouse = tmp_path / "unit.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_schema(con)
    monkeypatch.setenv("FLYWHEEL_WAREHOUSE", str(warehouse))
    dbt = DbtCliResource(project_dir=flywheel_dbt)

    # Unit tests need their inputs' columns, not their rows: seed, then build empty models.
    dbt.cli(["seed"], raise_on_error=True).wait()
    dbt.cli(["run", "--empty"], raise_on_error=True).wait()
    invocation = dbt.cli(["test", "--select", "test_type:unit"], raise_on_error=False).wait()

    results = [
        result
        for result in invocation.get_artifact("run_results.json")["results"]
        if result["unique_id"].startswith("unit_test.")
    ]
    failed = [result["unique_id"] for result in results if result["status"] != "pass"]
    assert len(results) >= 30
    assert failed == []
