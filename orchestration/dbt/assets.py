"""dbt models, seeds and tests as Dagster assets and asset checks."""

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt.project import flywheel_dbt
from orchestration.ingestion.assets import raw_asset_key
from orchestration.partitions import daily_partitions, one_run_per_backfill, partition_days

# The feedback marts read the send ledger, which the sending step writes after the payload
# models are built: they form a second dbt step, downstream of the send.
FEEDBACK = "stg_flywheel__send_ledger+"


class FlywheelTranslator(DagsterDbtTranslator):
    """Raw sources take the keys of the ingestion assets, the send ledger the key of the
    sending asset, model versions the key of their relation; one asset group per dbt layer."""

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
        if props["resource_type"] == "model" and props.get("version") is not None:
            # a model version is keyed by its relation, like every other model (dagster-dbt
            # would drop the schema): the version under the model's own name keeps its key
            key = [props["config"]["schema"], props["alias"]]
            return spec.replace_attributes(key=key, group_name=layer)
        return spec.replace_attributes(group_name=layer)


class DbtBuild(dg.Config):
    """Options of a dbt step; the days come from the run's partition window."""

    full_refresh: bool = False  # rebuild the incremental models from scratch
    # The instant (ISO 8601; naive is UTC) the build holds the events up to; empty: the end of
    # the window's last day. The weekly report schedule rebuilds a Sunday with the events up to
    # its tick: west of UTC the local Sunday ends on the UTC Monday (docs/operations.md).
    events_through: str | None = None


def events_through_var(instant: str) -> str:
    """An ISO 8601 instant as dbt's `events_through` var: naive UTC, to the second."""
    at = datetime.fromisoformat(instant)
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(sep=" ", timespec="seconds")


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuild
) -> Iterator[Any]:
    """`dbt build` for the partition window: the incremental models rebuild those days (and
    their look-back), every other model is rebuilt up to the window's last day."""
    first, last = partition_days(context)
    dbt_vars = {
        "min_date": first.isoformat(),
        "max_date": last.isoformat(),
        "as_of_date": last.isoformat(),
    }
    if config.events_through:
        dbt_vars["events_through"] = events_through_var(config.events_through)
    # Unit tests check the SQL logic on fixed inputs, not the data: CI runs them
    # (tests/test_dbt_unit_tests.py); a data run would only repeat them.
    args = ["build", "--exclude", "test_type:unit", "--vars", json.dumps(dbt_vars)]
    if config.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
    exclude=FEEDBACK,
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def flywheel_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuild):
    yield from dbt_build(context, dbt, config)


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
    select=FEEDBACK,
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def email_feedback_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuild):
    yield from dbt_build(context, dbt, config)
