"""The Dagster definitions load and the graph runs from raw files to marts."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_dbt_sources_line_up_with_the_ingestion_assets():
    graph = defs.resolve_asset_graph()
    staged_events = dg.AssetKey(["staging", "stg_product__events"])
    checked_events = dg.AssetKey(["staging", "stg_product__events_checked"])
    base_events = dg.AssetKey(["staging", "base_product__events"])
    assert graph.get(base_events).parent_keys == {dg.AssetKey(["raw", "events"])}
    assert base_events in graph.get(checked_events).parent_keys
    assert checked_events in graph.get(staged_events).parent_keys


def test_one_group_per_layer():
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    assert specs[dg.AssetKey(["raw", "events"])].group_name == "raw"
    assert specs[dg.AssetKey(["staging", "stg_product__events"])].group_name == "staging"
    assert specs[dg.AssetKey(["marts", "fct_data_quarantine"])].group_name == "marts"
    assert {spec.group_name for spec in specs.values()} >= {"raw", "staging", "marts", "seeds"}


def test_dbt_tests_are_asset_checks():
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert any(name.startswith("unique_") for name in checks)


def test_dagster_validates_the_code_location():
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "orchestration.definitions"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
