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


def test_one_group_per_layer_then_the_email_flow():
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    groups = {key.to_user_string(): spec.group_name for key, spec in specs.items()}
    assert groups["raw/events"] == "raw"
    assert groups["staging/stg_product__events"] == "staging"
    assert groups["marts/fct_data_quarantine"] == "marts"
    assert groups["email/rpt_email_payloads"] == "reports"
    assert groups["email/rendered_emails"] == groups["email/send_ledger"] == "sending"
    assert groups["staging/stg_flywheel__send_ledger"] == "feedback"
    assert groups["marts/fct_email_effect"] == "feedback"
    assert groups["serving/marts"] == "serving"
    assert groups["report/email_programme"] == "report"
    assert set(groups.values()) == {
        "raw",
        "seeds",
        "staging",
        "intermediate",
        "marts",
        "reports",
        "sending",
        "feedback",
        "serving",
        "report",
    }


def test_dbt_tests_are_asset_checks():
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert any(name.startswith("unique_") for name in checks)


def test_every_asset_check_says_what_it_checks():
    specs = [spec for ad in defs.resolve_asset_graph().assets_defs for spec in ad.check_specs]
    assert len(specs) > 300
    assert [spec.key for spec in specs if not (spec.description or "").strip()] == []
    described = {(spec.asset_key.to_user_string(), spec.name): spec.description for spec in specs}
    payloads = "email/rpt_email_payloads"
    assert described[payloads, "unique_rpt_email_payloads_send_key"] == (
        "`send_key` is unique: no two rows share a value."
    )
    assert described[payloads, "accepted_values_rpt_email_payloads_locale__en__fr__ru"] == (
        "`locale` is one of en, fr, ru."
    )
    # a singular test: its leading comment
    bands = described["seeds/employee_bands", "assert_employee_bands_contiguous"]
    assert bands.startswith("The employee bands (seed) must cover every non-negative employee")
    assert bands.endswith("only the last band is open-ended. Returns the offending bands.")


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
