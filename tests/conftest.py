"""Shared fixtures: every test runs against its own temporary raw directory and warehouse."""

import pytest

from tests.pipeline import END_DATE, Pipeline, run_pipeline


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse the dbt project before test modules import the Dagster definitions."""
    from orchestration.dbt.project import prepare_manifest

    prepare_manifest()


@pytest.fixture(scope="session", autouse=True)
def _temporary_configuration(tmp_path_factory):
    """What reads the settings without resources of its own (the CLI, a run without
    `resources=`) finds a temporary raw directory, warehouse and outbox, never a developer's."""
    session_dir = tmp_path_factory.mktemp("configuration")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLYWHEEL_RAW_DIR", str(session_dir / "raw"))
        env.setenv("FLYWHEEL_WAREHOUSE", str(session_dir / "flywheel.duckdb"))
        env.setenv("FLYWHEEL_OUTBOX_DIR", str(session_dir / "outbox"))
        env.setenv("FLYWHEEL_EMAIL_BACKEND", "outbox")
        env.setenv("DBT_TARGET", "duckdb")
        env.setenv("DO_NOT_TRACK", "1")
        env.delenv("DAGSTER_HOME", raising=False)
        yield


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
