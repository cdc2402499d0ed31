"""The one DbtProject of Flywheel, and its manifest, parsed only when the project changed."""

import fcntl
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION

from orchestration.settings import REPO_ROOT

if TYPE_CHECKING:
    from packaging.version import Version

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


class FlywheelDbtCli(DbtCliResource):
    """dagster-dbt's `dbt` resource without two things its `cli()` does before it starts dbt,
    which Flywheel never uses and every dbt step paid for (CPU seconds on the 2-core
    benchmark machine):

    - it runs `dbt --version` in a process of its own, to tell dbt-core from dbt Fusion: a
      whole dbt start-up (3 s of CPU, 6 s without compiled bytecode) and a request to PyPI.
      The dbt installed next to this interpreter is the dbt-core package imported here; any
      other dbt is still asked.
    - it builds a dbt-core adapter in this process (dbt's config, parser and adapter modules:
      2.5 to 3 s of CPU the first time), which only `fetch_column_metadata()` and
      `fetch_row_counts()` use: the dbt steps only `stream()`. Without an adapter dagster-dbt
      runs as it does for dbt Fusion. A step that wants those metadata must use
      `DbtCliResource` itself.

    Both are private methods of dagster-dbt (pinned below 0.30); tests/test_dbt_project.py
    fails if they are renamed."""

    @cached_property
    def _cli_version(self) -> "Version":
        installed_here = Path(sys.executable).with_name("dbt")
        if DBT_PYTHON_VERSION is not None and _same_file(self.dbt_executable, installed_here):
            return DBT_PYTHON_VERSION
        return DbtCliResource._cli_version.func(self)  # runs `dbt --version`

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def _same_file(executable: str, path: Path) -> bool:
    found = shutil.which(executable)
    return found is not None and path.exists() and Path(found).samefile(path)


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource, running the dbt installed with Flywheel."""
    return FlywheelDbtCli(project_dir=flywheel_dbt, dbt_executable=dbt_executable())


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


# The run's window, as macros/run_var.sql reads it when dbt executes.
RUN_VARS = ("min_date", "max_date", "as_of_date", "events_through")


@contextmanager
def dbt_environment(
    run_vars: Mapping[str, str], warehouse_path: str, extra: Mapping[str, str] | None = None
) -> Iterator[None]:
    """The environment the dbt process starts in (dagster-dbt gives it this process's, and
    takes no other): the run's window as FLYWHEEL_DBT_<NAME> (empty when unset), the
    warehouse resource's file, and `extra`. Restored when the block ends; start dbt in it,
    then stream.

    Not dbt vars: dbt parses the whole project again when its vars change, so a daily run
    with a new date would never reuse the parse of the run before (`keep_parse_state`)."""
    values = {f"FLYWHEEL_DBT_{name.upper()}": run_vars.get(name, "") for name in RUN_VARS}
    values["FLYWHEEL_WAREHOUSE"] = warehouse_path
    values.update(extra or {})
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def keep_parse_state(invocation_target: Path) -> None:
    """Keep a finished dbt invocation's parse (partial_parse.msgpack) in the project's target
    folder, where dagster-dbt seeds the next invocation's from: dbt then reparses only the
    files changed since, or everything if the warehouse or the project's vars differ."""
    state = invocation_target / "partial_parse.msgpack"
    if not state.exists():
        return
    kept = flywheel_dbt.manifest_path.with_name(state.name)
    staged = kept.with_suffix(f".{os.getpid()}")
    shutil.copyfile(state, staged)
    staged.replace(kept)  # atomic: a run starting now reads the old file or the new one


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
