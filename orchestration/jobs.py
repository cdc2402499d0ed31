"""Jobs: the daily build, and the weekly reports sent at a local hour. Both are partitioned
by day through their assets (orchestration/partitions.py)."""

import dagster as dg

from orchestration.emails.assets import RENDERED, SEND_LEDGER, email_send_ledger
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

# The checks that block a send: a weekly report run that sends from payloads another run built
# evaluates them again before it sends.
INBOX_CHECKS = [
    check
    for check in [*quality_checks, *source_freshness_checks]
    if any(spec.blocking for spec in check.check_specs)
]

# A weekly report run that sends from the payloads already built: the render and send steps,
# after the checks that guard the inbox, with the send step's own checks (it yields them).
WEEKLY_SEND_ASSETS = (RENDERED, SEND_LEDGER)
WEEKLY_SEND_CHECKS = (
    *(key for check in INBOX_CHECKS for key in check.check_keys),
    *email_send_ledger.check_keys,
)

weekly_report = dg.define_asset_job(
    "weekly_report",
    selection=dg.AssetSelection.all(),
    description="Send the weekly reports of the week ending on the partition's Sunday whose "
    "local send time has passed (config weekly_reports_at; see the weekly_report schedule). "
    "Whole, the run first rebuilds that Sunday with the events up to the send time (dbt "
    "config events_through), so the local Sunday of users west of UTC, which ends on the UTC "
    "Monday, is complete; when a build already holds every week due, the schedule runs only "
    "the render and send steps, after the checks that guard the inbox pass again.",
    tags=WAREHOUSE_WRITER_TAGS,
    executor_def=dg.in_process_executor,
)

jobs = [daily_build, weekly_report]
