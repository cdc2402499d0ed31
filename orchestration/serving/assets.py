"""The Dagster asset that publishes the marts' serving copy after the dbt models are built."""

from collections.abc import Iterator

import dagster as dg

from orchestration.dbt.assets import email_feedback_models
from orchestration.partitions import daily_partitions, one_run_per_backfill
from orchestration.resources import Warehouse
from orchestration.serving.copy import SERVING_SCHEMAS, ServingCopy, publish_serving_copy

SERVING_GROUP = "serving"
SERVING_COPY = dg.AssetKey(["serving", "marts"])

# The marts of the last dbt step, the e-mail feedback (built after the send): that step runs
# only once every other mart is built, checked by dbt and by the checks that guard the inbox,
# and the e-mails are sent, so the copy is published after all of them and not when one fails.
# (Depending on each of the marts directly would say no more and would draw an edge from each.)
LAST_MARTS = sorted(key for key in email_feedback_models.keys if key.path[0] in SERVING_SCHEMAS)


@dg.asset(
    key=SERVING_COPY,
    deps=LAST_MARTS,
    group_name=SERVING_GROUP,
    kinds={"duckdb", "postgres"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def serving_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse, serving_copy: ServingCopy
) -> Iterator[dg.MaterializeResult]:
    """The public marts (schema `marts`), copied into a read-only DuckDB file that BI tools
    read (FLYWHEEL_SERVING_COPY, docs/bi.md): built under a temporary name, in the storage
    format DuckDB 1.x opens, and swapped in atomically, so a connected BI client neither blocks
    the run nor sees a half-written file. On PostgreSQL the `marts` schema is read directly and
    nothing is published."""
    if serving_copy.path is None:
        context.log.info("No serving copy on PostgreSQL: BI tools read the marts schema.")
        yield dg.MaterializeResult(
            metadata={
                "published": False,
                "serving_layer": f"schema marts of {warehouse.location} (no copy on PostgreSQL; "
                "BI tools connect with the read-only role of docs/bi.md)",
            }
        )
        return
    published = publish_serving_copy(warehouse.path, serving_copy.path)
    context.log.info(
        f"Published {len(published.rows)} tables, {sum(published.rows.values())} rows, "
        f"to {published.path} (DuckDB storage {published.storage_version})"
    )
    yield dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "storage_version": published.storage_version,
            "tables": len(published.rows),
            "rows": sum(published.rows.values()),
            "row_counts": dg.MetadataValue.json(published.rows),
            "size_bytes": published.size_bytes,
        }
    )
