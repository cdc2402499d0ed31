"""The one DbtProject of Flywheel, and its manifest, parsed only when the project changed."""

import fcntl
import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

import yaml
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.settings import REPO_ROOT

# The target is the profile's: DBT_TARGET, read by dbt itself (profiles.example.yml).
flywheel_dbt = DbtProject(
    project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project"
)
# The files a parse reads, besides those below the project's *-paths folders.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PATH_KEYS = (
    "model-paths",
    "seed-paths",
    "macro-paths",
    "test-paths",
    "snapshot-paths",
    "analysis-paths",
)
ENV_VAR_NAME = re.compile(rb"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")
# Beside the manifest: the fingerprint of the project it was parsed from.
FINGERPRINT_PATH = flywheel_dbt.manifest_path.with_name("manifest.fingerprint")


def dbt_executable() -> str:
    """dbt on PATH, else the one installed next to this interpreter (a virtual environment's
    `flywheel`, run by its path from cron, has no activated PATH)."""
    return shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource, running the dbt installed with Flywheel."""
    return DbtCliResource(project_dir=flywheel_dbt, dbt_executable=dbt_executable())


def project_fingerprint(project_dir: Path = flywheel_dbt.project_dir) -> str:
    """A hash of everything a parse reads: the project's files (profiles included), the value
    of each environment variable they name with env_var(), and dbt's version."""
    from dbt.version import __version__ as dbt_version

    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    folders = [project_dir / folder for key in PATH_KEYS for folder in config.get(key, [])]
    files = [project_dir / name for name in PROJECT_FILES]
    files += [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    digest = hashlib.sha256(dbt_version.encode())
    names: set[bytes] = set()
    for path in sorted(files):
        content = path.read_bytes()
        names.update(ENV_VAR_NAME.findall(content))
        digest.update(b"\0".join([str(path.relative_to(project_dir)).encode(), content, b""]))
    for name in sorted(names):
        digest.update(b"\0".join([name, os.environb.get(name, b"\x01unset"), b""]))
    return digest.hexdigest()


def prepare_manifest() -> None:
    """Parse the dbt project into target/manifest.json, which the dbt assets are built from,
    unless the manifest there was parsed from the project as it is now: every run and every
    `dagster dev` process reuses it, and a changed SQL file or rule makes the next one parse."""
    fingerprint = project_fingerprint()
    FINGERPRINT_PATH.parent.mkdir(parents=True, exist_ok=True)
    # one process parses at a time; the others wait, then find the manifest current
    with FINGERPRINT_PATH.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_fingerprint() == fingerprint:
            return
        FINGERPRINT_PATH.unlink(missing_ok=True)
        dbt_resource().cli(["parse", "--quiet"], target_path=flywheel_dbt.target_path).wait()
        FINGERPRINT_PATH.write_text(fingerprint)


def manifest_fingerprint() -> str | None:
    """The fingerprint of the project the manifest was parsed from; None if there is none."""
    if flywheel_dbt.manifest_path.exists() and FINGERPRINT_PATH.exists():
        return FINGERPRINT_PATH.read_text()
    return None


# Under `dagster dev` the code location prepares the manifest when it loads, so SQL edits show
# on the next reload (and each run's process reuses it).
if flywheel_dbt.preparer.using_dagster_dev():
    prepare_manifest()
