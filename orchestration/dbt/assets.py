"""dbt models, seeds and tests as Dagster assets and asset checks."""

import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt.project import dbt_environment, flywheel_dbt, keep_parse_state
from orchestration.email_hash import EMAIL_HASH_KEY_ENV
from orchestration.email_hash import dbt_environment as email_hash_environment
from orchestration.ingestion.assets import raw_asset_key
from orchestration.partitions import daily_partitions, one_run_per_backfill, partition_days
from orchestration.resources import Warehouse
from orchestration.settings import Settings

# The feedback marts read the send ledger, which the sending step writes after the payload
# models are built: they form a second dbt step, downstream of the send.
FEEDBACK = "stg_flywheel__send_ledger+"
# The asset groups of the e-mail flow, left to right after the dbt layers (the last of them,
# `reports`, holds the payloads the sender reads): the render and send steps
# (orchestration/emails/assets.py), then the feedback step.
SENDING_GROUP, FEEDBACK_GROUP = "sending", "feedback"


class FlywheelTranslator(DagsterDbtTranslator):
    """Raw sources take the keys of the ingestion assets, the send ledger the key of the
    sending asset, model versions the key of their relation; one asset group per dbt layer,
    then the e-mail flow's groups; every dbt test an asset check that says what it checks."""

    def __init__(self, group: str | None = None) -> None:
        super().__init__()
        self.group = group  # one group for every model of the step (the feedback step)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            if props["source_name"] == "flywheel":
                return spec.replace_attributes(key=[props["schema"], props["name"]])
            return spec.replace_attributes(key=raw_asset_key(props["name"]), group_name="raw")
        if props["resource_type"] != "model":
            return spec.replace_attributes(group_name="seeds")
        # fqn is [project, folder, ...]: models/<layer>/...
        group = self.group or props["fqn"][1]
        if props.get("version") is not None:
            # a model version is keyed by its relation, like every other model (dagster-dbt
            # would drop the schema): the version under the model's own name keeps its key
            key = [props["config"]["schema"], props["alias"]]
            return spec.replace_attributes(key=key, group_name=group)
        return spec.replace_attributes(group_name=group)

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=dbt_test_description(manifest["nodes"][unique_id]))


def dbt_test_description(test: Mapping[str, Any]) -> str:
    """What a dbt test checks, in a sentence: its own `description:` if the yml gives one,
    else a singular test's leading comment, else its generic test and arguments."""
    if test.get("description"):
        return test["description"]
    metadata = test.get("test_metadata")
    if not metadata:
        comment = re.match(r"\s*((?:--[^\n]*\n\s*)+)", test.get("raw_code", ""))
        lines = comment.group(1).splitlines() if comment else []
        text = " ".join(line.strip().removeprefix("--").strip() for line in lines)
        return " ".join(text.split()) or test["name"]
    kwargs = metadata["kwargs"]
    column = f"`{kwargs['column_name']}`" if kwargs.get("column_name") else "the row"
    match metadata["name"]:
        case "not_null":
            sentence = f"{column} is never null."
        case "unique":
            sentence = f"{column} is unique: no two rows share a value."
        case "accepted_values":
            sentence = f"{column} is one of {', '.join(map(str, kwargs['values']))}."
        case "relationships":
            target = re.sub(r"^ref\('([^']+)'\)$", r"\1", kwargs["to"])
            sentence = f"Every {column} exists in {target}.{kwargs['field']}."
        case "unique_combination_of_columns":
            columns = ", ".join(kwargs["combination_of_columns"])
            sentence = f"No two rows share the same ({columns})."
        case "expression_is_true" if kwargs.get("aggregate"):
            sentence = f"Over the whole model: `{' '.join(kwargs['expression'].split())}`."
        case "expression_is_true":
            sentence = f"On every row: `{' '.join(kwargs['expression'].split())}`."
        case name:
            sentence = f"dbt test {name} on {column}."
    where = test.get("config", {}).get("where")
    return f"{sentence} Rows checked: where {where}." if where else sentence


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


def postgres_session_environment() -> dict[str, str]:
    """PGOPTIONS giving dbt's PostgreSQL connections the e-mail hash key (on DuckDB the plugin
    orchestration/dbt/duckdb_plugin.py sets it), the plugin's key: FLYWHEEL_SECRET_KEY's, else
    FLYWHEEL_EMAIL_HASH_KEY, else the development key's (the outbox demo)."""
    settings = Settings()
    key = os.environ.get(EMAIL_HASH_KEY_ENV)
    if settings.secret_key is not None or not key:
        key = settings.email_hash_key()
    return {"PGOPTIONS": email_hash_environment(key)["PGOPTIONS"]}


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse, config: DbtBuild
) -> Iterator[Any]:
    """`dbt build` for the partition window: the incremental models rebuild those days (and
    their look-back), every other model is rebuilt up to the window's last day."""
    first, last = partition_days(context)
    run_vars = {
        "min_date": first.isoformat(),
        "max_date": last.isoformat(),
        "as_of_date": last.isoformat(),
    }
    if config.events_through:
        run_vars["events_through"] = events_through_var(config.events_through)
    # Unit tests check the SQL logic on fixed inputs, not the data: CI runs them
    # (tests/test_dbt_unit_tests.py); a data run would only repeat them.
    args = ["build", "--exclude", "test_type:unit"]
    if config.full_refresh:
        args.append("--full-refresh")
    extra = postgres_session_environment() if warehouse.target == "postgres" else None
    with dbt_environment(run_vars, warehouse.path, extra):
        invocation = dbt.cli(args, context=context)
    yield from invocation.stream()
    keep_parse_state(invocation.target_path)


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(),
    exclude=FEEDBACK,
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def flywheel_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse, config: DbtBuild
):
    yield from dbt_build(context, dbt, warehouse, config)


@dbt_assets(
    manifest=flywheel_dbt.manifest_path,
    project=flywheel_dbt,
    dagster_dbt_translator=FlywheelTranslator(group=FEEDBACK_GROUP),
    select=FEEDBACK,
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def email_feedback_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse, config: DbtBuild
):
    yield from dbt_build(context, dbt, warehouse, config)
