"""Shared fixtures: every test runs against its own temporary raw directory and warehouse."""

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

# Before any orchestration module reads the settings: never touch a developer's own warehouse.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="flywheel-tests-"))
os.environ.update(
    FLYWHEEL_RAW_DIR=str(_SESSION_DIR / "raw"),
    FLYWHEEL_WAREHOUSE=str(_SESSION_DIR / "flywheel.duckdb"),
    FLYWHEEL_OUTBOX_DIR=str(_SESSION_DIR / "outbox"),
    FLYWHEEL_EMAIL_BACKEND="outbox",
    DBT_TARGET="duckdb",
    DO_NOT_TRACK="1",
)
os.environ.pop("DAGSTER_HOME", None)

END_DATE = date(2026, 3, 31)


@dataclass(frozen=True)
class Pipeline:
    raw_dir: Path
    warehouse: Path

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse the dbt project before test modules import the Dagster definitions."""
    from orchestration.dbt.project import prepare_manifest

    prepare_manifest()


def run_pipeline(root: Path, as_of: date, **generate_options) -> Pipeline:
    """Generate a small data set under root and run the daily job for as_of on it."""
    from orchestration.demo_data import generate
    from orchestration.runner import run_daily

    pipeline = Pipeline(raw_dir=root / "raw", warehouse=root / "flywheel.duckdb")
    options = {"accounts": 20, "days": 45, "target_events": 15_000, "end_date": END_DATE}
    generate(pipeline.raw_dir, progress=False, **(options | generate_options))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLYWHEEL_RAW_DIR", str(pipeline.raw_dir))
        env.setenv("FLYWHEEL_WAREHOUSE", str(pipeline.warehouse))
        result = run_daily(as_of)
    assert result.success, "the daily job failed"
    return pipeline


@pytest.fixture(scope="session")
def dirty_pipeline(tmp_path_factory) -> Pipeline:
    """The daily job on generated data with every kind of bad input planted."""
    return run_pipeline(tmp_path_factory.mktemp("dirty"), END_DATE, dirty=True)


def dirty_manifest(pipeline: Pipeline) -> dict:
    return json.loads((pipeline.raw_dir / "_dirty_manifest.json").read_text())
