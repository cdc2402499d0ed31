"""Dagster assets that load the raw directory into the warehouse's `raw` schema."""

from collections.abc import Iterator, Sequence

import dagster as dg

from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import FileLoad, ensure_raw_schema, load_table
from orchestration.partitions import daily_partitions, one_run_per_backfill
from orchestration.resources import RawDirectory, Warehouse

# The warning check on every raw asset: no file of its folder is set aside.
NO_FILE_SET_ASIDE = "no_file_set_aside"

# At most this many files in the check's description; its metadata lists them all.
MAX_FILES_IN_DESCRIPTION = 3


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
            kinds={"duckdb", "postgres"},
            skippable=True,
        )
        for table in RAW_TABLES.values()
    ],
    check_specs=[
        dg.AssetCheckSpec(
            NO_FILE_SET_ASIDE,
            asset=raw_asset_key(table.name),
            description=f"Every file in FLYWHEEL_RAW_DIR/{table.name}/ is loaded: none is set "
            "aside as not a table of the contract (unreadable, wrong columns, another format) "
            "or as changed after it was loaded. A warning: the other files load and the run "
            "goes on; raw._loaded_files holds each file's reason.",
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

    A file that is not a valid table, or that changed after it was loaded, is set aside: the
    load ledger records it with the reason, the asset's metadata and its warning check name
    it, and the valid files load as usual. Nothing is moved or deleted, and nothing already in
    the warehouse changes because of it.
    """
    with warehouse.raw_writer() as writer:
        ensure_raw_schema(writer)
        for key in sorted(context.selected_asset_keys):
            table = key.path[-1]
            loads = load_table(writer, raw_directory.root, table)
            loaded = [load for load in loads if load.status == "loaded"]
            set_aside = [load for load in loads if load.set_aside]
            total = writer.row_count(table)
            context.log.info(
                f"raw.{table}: {len(loaded)} new file(s), {sum(f.rows for f in loaded)} row(s)"
            )
            for load in set_aside:
                if load.reported_before:
                    context.log.info(f"still set aside, unchanged: {load}")
                else:
                    context.log.warning(f"set aside, not loaded: {load}")
            check = dg.AssetCheckKey(key, NO_FILE_SET_ASIDE)
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "new_files": len(loaded),
                    "new_rows": sum(load.rows for load in loaded),
                    "skipped_files": sum(load.status == "skipped" for load in loads),
                    "set_aside_files": len(set_aside),
                    "set_aside": _file_list(set_aside),
                    "dagster/row_count": total,
                },
                check_results=(
                    [files_set_aside_result(check, set_aside)]
                    if check in context.selected_asset_check_keys
                    else []
                ),
            )


def files_set_aside_result(
    check: dg.AssetCheckKey, set_aside: Sequence[FileLoad]
) -> dg.AssetCheckResult:
    """The warning check's result: passed when no file of the table is set aside."""
    if set_aside:
        description = f"{len(set_aside)} file(s) set aside, not loaded: " + "; ".join(
            map(str, set_aside[:MAX_FILES_IN_DESCRIPTION])
        )
        if len(set_aside) > MAX_FILES_IN_DESCRIPTION:
            description += f" (+{len(set_aside) - MAX_FILES_IN_DESCRIPTION} more)"
    else:
        description = "every file is loaded"
    return dg.AssetCheckResult(
        check_name=check.name,
        asset_key=check.asset_key,
        passed=not set_aside,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "set_aside_files": len(set_aside),
            "files": _file_list(set_aside),
        },
    )


def _file_list(loads: Sequence[FileLoad]) -> dg.MetadataValue:
    return dg.MetadataValue.md(
        "\n".join(f"- `{load.file}` ({load.status}): {load.reason}" for load in loads) or "none"
    )
