"""The dbt project's own standards: documented models and contracted public marts."""

import json

import pytest

from orchestration.dbt.project import flywheel_dbt


@pytest.fixture(scope="module")
def models() -> list[dict]:
    manifest = json.loads(flywheel_dbt.manifest_path.read_text())
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_every_model_is_documented(models):
    undocumented = [model["name"] for model in models if not model["description"].strip()]
    assert undocumented == []


def test_every_mart_enforces_a_contract_with_documented_columns(models):
    marts = [model for model in models if model["fqn"][1] == "marts"]
    assert len(marts) >= 15
    for model in marts:
        assert model["contract"]["enforced"], model["name"]
        undocumented = [
            name for name, column in model["columns"].items() if not column["description"]
        ]
        assert undocumented == [], model["name"]


def test_only_staging_base_models_read_sources(models):
    readers = {model["name"] for model in models if model["sources"]}
    assert readers and all(name.startswith("base_") or name.startswith("stg_") for name in readers)
