"""The dbt project's own standards: documented models and contracted public marts."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import dagster_dbt.core.resource
import pytest
import yaml
from dbt.version import __version__ as dbt_version
from packaging.version import Version

from orchestration.dbt.project import (
    FlywheelDbtCli,
    dbt_environment,
    dbt_resource,
    flywheel_dbt,
    keep_parse_state,
    prepare_manifest,
    project_fingerprint,
)
from orchestration.ingestion.contract import event_types


@pytest.fixture(scope="module")
def models() -> list[dict]:
    manifest = json.loads(flywheel_dbt.manifest_path.read_text())
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_the_manifest_is_parsed_once_per_change_of_the_project():
    """The session parsed it; a run that finds the project unchanged reuses it as it is."""
    written = flywheel_dbt.manifest_path.stat().st_mtime_ns
    prepare_manifest()
    assert flywheel_dbt.manifest_path.stat().st_mtime_ns == written


def test_the_fingerprint_follows_what_a_parse_reads(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    # dbt's output (hundreds of MB after a few runs) is left behind: the project is what counts
    outputs = shutil.ignore_patterns("target", "logs")
    shutil.copytree(flywheel_dbt.project_dir, project, symlinks=False, ignore=outputs)
    before = project_fingerprint(project)
    # dbt's own output and files outside its paths do not count
    (project / "target").mkdir()
    (project / "target" / "run_results.json").write_text("{}")
    (project / "README.md").write_text("changed")
    assert project_fingerprint(project) == before
    # a model, a seed row, an environment variable the profile reads do
    model = next((project / "models").rglob("fct_user_streaks.sql"))
    model.write_text(model.read_text() + "\n-- changed\n")
    after_model = project_fingerprint(project)
    assert after_model != before
    seed = project / "seeds" / "engagement_rules.csv"
    seed.write_text(seed.read_text() + "\n")
    after_seed = project_fingerprint(project)
    assert after_seed != after_model
    monkeypatch.setenv("DBT_TARGET", "postgres")
    assert project_fingerprint(project) != after_seed


def test_the_next_run_window_reuses_the_parse_of_the_last(tmp_path):
    """The window reaches dbt in its environment: a run for the next day parses no file."""
    dbt = dbt_resource()
    for day in ("2026-03-01", "2026-03-02"):
        with dbt_environment({"as_of_date": day}, str(tmp_path / "warehouse.duckdb")):
            invocation = dbt.cli(["parse"])
        invocation.wait()
        keep_parse_state(invocation.target_path)
    performance = json.loads((invocation.target_path / "perf_info.json").read_text())
    assert performance["is_partial_parse_enabled"]
    assert performance["parsed_path_count"] == 0


def test_dbt_is_found_next_to_the_interpreter_without_an_activated_path():
    """As when cron runs the virtual environment's `flywheel` by its path."""
    script = (
        "from orchestration.dbt.project import dbt_resource; print(dbt_resource().dbt_executable)"
    )
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert Path(found.stdout.strip()) == Path(sys.executable).with_name("dbt")


def test_dbt_starts_without_a_dbt_version_process_or_an_adapter_here(monkeypatch, tmp_path):
    """dagster-dbt would run `dbt --version` (a whole dbt start-up) and build a dbt adapter in
    this process before every dbt command: the dbt steps only stream, and the dbt installed
    here is the dbt-core imported here."""
    asked = []
    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", asked.append)
    with dbt_environment({}, str(tmp_path / "warehouse.duckdb")):
        invocation = dbt_resource().cli(["parse"])
    invocation.wait()
    assert asked == []
    assert invocation.adapter is None
    assert invocation.cli_version == Version(dbt_version)


def test_another_dbt_is_still_asked_its_version(tmp_path):
    """A dbt that is not the one installed here may be dbt Fusion, which dagster-dbt runs
    otherwise."""
    fusion = tmp_path / "dbt"
    fusion.write_text("#!/bin/sh\necho 'dbt-fusion 2.0.0-preview.45'\n")
    fusion.chmod(0o755)
    dbt = FlywheelDbtCli(project_dir=flywheel_dbt, dbt_executable=str(fusion))
    assert dbt._cli_version == Version("2.0.0")


def test_every_model_is_documented(models):
    undocumented = [model["name"] for model in models if not model["description"].strip()]
    assert undocumented == []


def test_every_mart_and_report_enforces_a_contract_with_documented_columns(models):
    contracted = [model for model in models if model["fqn"][1] in ("marts", "reports")]
    assert len(contracted) >= 16
    for model in contracted:
        assert model["contract"]["enforced"], model["name"]
        undocumented = [
            name for name, column in model["columns"].items() if not column["description"]
        ]
        assert undocumented == [], model["name"]


def test_only_staging_base_models_read_sources(models):
    readers = {model["name"] for model in models if model["sources"]}
    assert readers and all(name.startswith("base_") or name.startswith("stg_") for name in readers)


def test_every_event_type_has_its_column_in_the_activity_contract(models):
    """fct_user_activity_daily's SQL makes a count column per row of seed event_types; its
    contract must list each (or the build fails), documented."""
    (daily,) = [model for model in models if model["name"] == "fct_user_activity_daily"]
    assert set(event_types().values()) <= set(daily["columns"])


def test_a_base_model_reads_one_source_and_nothing_else(models):
    """Checks that read other tables or seeds belong to the stg_*_checked model above it."""
    base = [model for model in models if model["name"].startswith("base_")]
    assert len(base) >= 5
    for model in base:
        parents = model["depends_on"]["nodes"]
        assert len(parents) == 1 and parents[0].startswith("source."), (model["name"], parents)


@pytest.fixture(scope="module")
def rules() -> set[str]:
    seed_file = flywheel_dbt.project_dir / "seeds" / "engagement_rules.csv"
    with seed_file.open(encoding="utf-8") as seed:
        return {row["rule"] for row in csv.DictReader(seed)}


def test_every_rule_called_is_in_the_rules_seed(rules):
    """rule('name') reads seed engagement_rules; a name missing there would read null."""
    project = flywheel_dbt.project_dir
    sql = [path.read_text() for path in project.rglob("*.sql") if "target" not in path.parts]
    called = {name for text in sql for name in re.findall(r"rule\('([a-z0-9_]+)'\)", text)}
    assert called, "no model reads a rule"
    assert called - rules == set()


def test_recommendation_conditions_name_rules_that_exist(rules):
    """A condition names the rules it reads (their values change) instead of copying values."""
    seed_file = flywheel_dbt.project_dir / "seeds" / "recommendations.csv"
    with seed_file.open(encoding="utf-8") as seed:
        conditions = [row["condition"] for row in csv.DictReader(seed)]
    snake_case = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
    named = {name for text in conditions for name in snake_case.findall(text)}
    assert named, "no condition names a rule"
    assert named - rules == set()


def test_no_model_reads_a_rule_from_a_var(rules):
    """Rules live in seeds so that state:modified+ selects what a changed rule touches."""
    dbt_project = yaml.safe_load((flywheel_dbt.project_dir / "dbt_project.yml").read_text())
    assert rules & set(dbt_project["vars"]) == set()


@pytest.mark.parametrize("seed", ["engagement_rules", "recommendations"])
def test_unit_test_fixtures_hold_every_row_of_their_seed(seed):
    """Unit tests read a frozen copy of the rule seeds (dbt_project/tests/fixtures), so changing
    a rule's value never breaks a test of the logic; a new rule must be added there too."""
    project = flywheel_dbt.project_dir

    def keys(path):
        with path.open(encoding="utf-8") as rows:
            return {next(iter(row.values())) for row in csv.DictReader(rows)}

    fixture = project / "tests" / "fixtures" / f"{seed}.csv"
    assert keys(fixture) == keys(project / "seeds" / f"{seed}.csv")


def test_each_folder_documents_its_models_in_one_yml_and_its_unit_tests_in_another(models):
    """`_<folder>__models.yml` and `_<folder>__unit_tests.yml`, beside the models' SQL."""
    manifest = json.loads(flywheel_dbt.manifest_path.read_text())
    folder_of = {model["name"]: Path(model["original_file_path"]).parent for model in models}
    models_ymls = defaultdict(set)
    for model in models:
        yml = Path(model["patch_path"].removeprefix("flywheel://"))
        assert yml.parent == folder_of[model["name"]], model["name"]
        assert yml.name.endswith("__models.yml"), model["name"]
        models_ymls[yml.parent].add(yml.name)
    assert {folder: ymls for folder, ymls in models_ymls.items() if len(ymls) > 1} == {}
    for test in manifest["unit_tests"].values():
        yml = Path(test["original_file_path"])
        assert yml.parent == folder_of[test["model"]], test["name"]
        assert yml.name.endswith("__unit_tests.yml"), test["name"]


def test_unit_test_names_fit_postgres_relation_names():
    """dbt names a unit test's relation after it; PostgreSQL cuts names at 63 characters."""
    manifest = json.loads(flywheel_dbt.manifest_path.read_text())
    too_long = [test["name"] for test in manifest["unit_tests"].values() if len(test["name"]) > 63]
    assert too_long == []
