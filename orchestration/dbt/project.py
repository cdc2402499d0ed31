"""The one DbtProject of Flywheel."""

from dagster_dbt import DbtProject

from orchestration.settings import REPO_ROOT, get_settings

flywheel_dbt = DbtProject(
    project_dir=REPO_ROOT / "dbt_project",
    profiles_dir=REPO_ROOT / "dbt_project",
    target=get_settings().dbt_target,
)
# Under `dagster dev` the manifest is re-parsed on every reload, so SQL edits show at once.
flywheel_dbt.prepare_if_dev()


def prepare_manifest() -> None:
    """Parse the dbt project into target/manifest.json, which the dbt assets are built from."""
    flywheel_dbt.preparer.prepare(flywheel_dbt)
