"""Shared fixtures: every test runs against its own temporary raw directory and warehouse."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.pipeline import END_DATE, Pipeline, run_pipeline


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module loads the Dagster definitions, whose resources are built from
    the settings as they load: whatever runs without resources of its own (the CLI, a job of
    `defs`) finds a temporary raw directory, warehouse and outbox, never a developer's."""
    session_dir = Path(tempfile.mkdtemp(prefix="flywheel-tests-"))
    os.environ.update(
        FLYWHEEL_RAW_DIR=str(session_dir / "raw"),
        FLYWHEEL_WAREHOUSE=str(session_dir / "flywheel.duckdb"),
        FLYWHEEL_OUTBOX_DIR=str(session_dir / "outbox"),
        FLYWHEEL_EMAIL_BACKEND="outbox",
        DBT_TARGET="duckdb",
        DO_NOT_TRACK="1",
    )
    os.environ.pop("DAGSTER_HOME", None)


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


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module that asks for it."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
