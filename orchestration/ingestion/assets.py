"""Dagster assets that load the raw directory into the warehouse's `raw` schema."""

from collections.abc import Iterator

import dagster as dg

from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import RawFileError, ensure_raw_schema, load_table
from orchestration.partitions import daily_partitions, one_run_per_backfill
from orchestration.resources import RawDirectory, Warehouse


def raw_asset_key(table: str) -> dg.AssetKey:
    """The key of a raw table; the dbt sources map onto the same keys."""
    return dg.AssetKey(["raw", table])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            raw_asset_key(table.name),
            group_name="raw",
            description=f"Raw `{table.name}` rows, loaded as text from "
            f"FLYWHEEL_RAW_DIR/{table.name}/ (CSV or Parquet), one transaction per file.",
            kinds={"duckdb"},
            skippable=True,
        )
        for table in RAW_TABLES.values()
    ],
    can_subset=True,
    # Files are not days: a run for any partition loads every file not loaded yet. The
    # partitions keep ingestion in the same runs and backfills as the models it feeds.
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def raw_tables(
    context: dg.AssetExecutionContext, warehouse: Warehouse, raw_directory: RawDirectory
) -> Iterator[dg.MaterializeResult]:
    """Load every file not loaded yet; files already loaded are skipped.

    A file that is not a valid table fails the step with its name and the problem, after the
    valid files were loaded: nothing already in the warehouse changes because of it.
    """
    errors: list[RawFileError] = []
    with warehouse.connect() as con:
        ensure_raw_schema(con)
        for key in sorted(context.selected_asset_keys):
            table = key.path[-1]
            loads, table_errors = load_table(con, raw_directory.root, table)
            errors.extend(table_errors)
            loaded = [load for load in loads if load.status == "loaded"]
            total = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            context.log.info(
                f"raw.{table}: {len(loaded)} new file(s), {sum(f.rows for f in loaded)} row(s)"
            )
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "new_files": len(loaded),
                    "new_rows": sum(load.rows for load in loaded),
                    "skipped_files": len(loads) - len(loaded),
                    "rejected_files": len(table_errors),
                    "dagster/row_count": total,
                },
            )
    if errors:
        raise dg.Failure(
            description=f"{len(errors)} raw file(s) could not be loaded:\n"
            + "\n".join(f"- {error}" for error in errors),
            metadata={"rejected_files": [error.file for error in errors]},
        )
