"""Jobs: what a scheduled run or `flywheel run` materializes."""

import dagster as dg

daily_build = dg.define_asset_job(
    "daily_build",
    selection=dg.AssetSelection.all(),
    description="Load new raw files, then build and test every dbt model.",
    # One DuckDB writer at a time: steps run one after the other in a single process.
    executor_def=dg.in_process_executor,
)
