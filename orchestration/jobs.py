"""Jobs: the daily build, and the weekly reports sent at a local hour. Both are partitioned
by day through their assets (orchestration/partitions.py)."""

import dagster as dg

from orchestration.emails.assets import RENDERED, SEND_LEDGER
from orchestration.quality import quality_checks, source_freshness_checks

# Every run that writes to the DuckDB file carries this tag, so the run queue can allow one
# at a time (docs/operations.md, "One writer at a time").
WAREHOUSE_WRITER_TAGS = {"flywheel/warehouse": "writer"}

daily_build = dg.define_asset_job(
    "daily_build",
    selection=dg.AssetSelection.all(),
    description="For one UTC day (or a backfill's range, as one run): load new raw files, "
    "build and check every dbt model, then send the e-mails due on the last day.",
    tags=WAREHOUSE_WRITER_TAGS,
    # One DuckDB writer at a time: steps run one after the other in a single process.
    executor_def=dg.in_process_executor,
)

# The checks that block a send: the weekly report job runs them again before it sends, since
# it runs apart from the daily build whose checks guarded the payloads.
INBOX_CHECKS = [
    check
    for check in [*quality_checks, *source_freshness_checks]
    if any(spec.blocking for spec in check.check_specs)
]

weekly_report = dg.define_asset_job(
    "weekly_report",
    selection=dg.AssetSelection.assets(RENDERED, SEND_LEDGER)
    | dg.AssetSelection.checks(*INBOX_CHECKS),
    description="Send the weekly reports of the week ending on the partition's Sunday whose "
    "local send time has passed (config weekly_reports_at; see the weekly_report schedule), "
    "after the checks that guard the inbox pass again.",
    tags=WAREHOUSE_WRITER_TAGS,
    executor_def=dg.in_process_executor,
)

jobs = [daily_build, weekly_report]
