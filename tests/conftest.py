"""Shared fixtures: every test runs against its own temporary raw directory and warehouse."""

import os
import tempfile
from pathlib import Path

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

from tests.pipeline import END_DATE, Pipeline, run_pipeline  # noqa: E402


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse the dbt project before test modules import the Dagster definitions."""
    from orchestration.dbt.project import prepare_manifest

    prepare_manifest()


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory) -> Pipeline:
    """The daily job on demo-sized generated data with every kind of bad input planted."""
    return run_pipeline(
        tmp_path_factory.mktemp("demo"),
        END_DATE,
        accounts=60,
        days=180,
        target_events=200_000,
        dirty=True,
    )
