"""dbt models, seeds and tests as Dagster assets and asset checks."""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt.project import flywheel_dbt
from orchestration.ingestion.assets import raw_asset_key


class FlywheelTranslator(DagsterDbtTranslator):
    """dbt sources take the keys of the ingestion assets; one asset group per dbt layer."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=raw_asset_key(props["name"]), group_name="raw")
        # fqn is [project, folder, ...]: models/<layer>/... and seeds/...
        layer = props["fqn"][1] if props["resource_type"] == "model" else "seeds"
        return spec.replace_attributes(group_name=layer)


class DbtBuildConfig(dg.Config):
    """The day to build the history up to (UTC); empty means the last complete day."""

    as_of: str | None = None


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
)
def flywheel_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
):
    dbt_vars = {"as_of_date": config.as_of} if config.as_of else {}
    # Unit tests check the SQL logic on fixed inputs, not the data: CI runs them
    # (tests/test_dbt_unit_tests.py); a data run would only repeat them.
    args = ["build", "--exclude", "test_type:unit", "--vars", json.dumps(dbt_vars)]
    yield from dbt.cli(args, context=context).stream()
