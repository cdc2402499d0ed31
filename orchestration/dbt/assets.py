"""dbt models, seeds and tests as Dagster assets and asset checks."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt.project import flywheel_dbt
from orchestration.ingestion.assets import raw_asset_key
from orchestration.run_day import RunDay

# The feedback marts read the send ledger, which the sending step writes after the payload
# models are built: they form a second dbt step, downstream of the send.
FEEDBACK = "stg_flywheel__send_ledger+"


class FlywheelTranslator(DagsterDbtTranslator):
    """Raw sources take the keys of the ingestion assets, the send ledger the key of the
    sending asset; one asset group per dbt layer."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            if props["source_name"] == "flywheel":
                return spec.replace_attributes(key=[props["schema"], props["name"]])
            return spec.replace_attributes(key=raw_asset_key(props["name"]), group_name="raw")
        # fqn is [project, folder, ...]: models/<layer>/... and seeds/...
        layer = props["fqn"][1] if props["resource_type"] == "model" else "seeds"
        return spec.replace_attributes(group_name=layer)


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: RunDay
) -> Iterator[Any]:
    dbt_vars = {"as_of_date": config.day.isoformat()}
    # Unit tests check the SQL logic on fixed inputs, not the data: CI runs them
    # (tests/test_dbt_unit_tests.py); a data run would only repeat them.
    args = ["build", "--exclude", "test_type:unit", "--vars", json.dumps(dbt_vars)]
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
    exclude=FEEDBACK,
)
def flywheel_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: RunDay):
    yield from dbt_build(context, dbt, config)


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
    select=FEEDBACK,
)
def email_feedback_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: RunDay):
    yield from dbt_build(context, dbt, config)
