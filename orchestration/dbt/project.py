"""The one DbtProject of Flywheel."""

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import REPO_ROOT

# The target is the profile's: DBT_TARGET, read by dbt itself (profiles.example.yml).
flywheel_dbt = DbtProject(
    project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project"
)
# Under `dagster dev` the manifest is re-parsed on every reload, so SQL edits show at once.
flywheel_dbt.prepare_if_dev()


def prepare_manifest() -> None:
    """Parse the dbt project into target/manifest.json, which the dbt assets are built from."""
    flywheel_dbt.preparer.prepare(flywheel_dbt)


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource: dbt on PATH (`uv run` or the activated virtual environment)."""
    return DbtCliResource(project_dir=flywheel_dbt)
