"""The one DbtProject of Flywheel."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import REPO_ROOT

# The target is the profile's: DBT_TARGET, read by dbt itself (profiles.example.yml).
flywheel_dbt = DbtProject(
    project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project"
)


def dbt_executable() -> str:
    """dbt on PATH, else the one next to this interpreter: `.venv/bin/flywheel` runs without
    the virtual environment activated."""
    return shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=flywheel_dbt, dbt_executable=dbt_executable())


def prepare_manifest() -> None:
    """Parse the dbt project into target/manifest.json, which the dbt assets are built from."""
    dbt_resource().cli(["parse", "--quiet"], target_path=flywheel_dbt.target_path).wait()


# Under `dagster dev` the manifest is re-parsed on every reload, so SQL edits show at once
# (dagster-dbt's `prepare_if_dev`, with the dbt executable found as above).
if flywheel_dbt.preparer.using_dagster_dev():
    prepare_manifest()
