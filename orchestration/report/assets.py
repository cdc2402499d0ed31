"""The Dagster asset that writes the e-mail programme report after the feedback marts."""

from collections import Counter

import dagster as dg

from orchestration.partitions import daily_partitions, one_run_per_backfill, partition_days
from orchestration.report.data import read_programme_data
from orchestration.report.directory import ReportDirectory
from orchestration.report.render import render_programme_report
from orchestration.resources import Warehouse

REPORT_GROUP = "report"
PROGRAMME_REPORT = dg.AssetKey(["report", "email_programme"])
# The marts the report reads: the funnel and the lift (the feedback step, built after the
# send) and the users' stages.
REPORTED_MARTS = [
    dg.AssetKey(["marts", "fct_email_effect"]),
    dg.AssetKey(["marts", "fct_email_lift"]),
    dg.AssetKey(["marts", "fct_engagement_stages"]),
]


@dg.asset(
    key=PROGRAMME_REPORT,
    deps=REPORTED_MARTS,
    group_name=REPORT_GROUP,
    kinds={"html"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
)
def email_programme_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, report_directory: ReportDirectory
) -> dg.MaterializeResult:
    """The e-mail programme as its owners read it: one HTML page with the funnel and the lift
    of every trigger type (a plot of the 95% intervals, a verdict in words), and the users'
    stages week by week (FLYWHEEL_REPORT_DIR, docs/effect.md). The latest report keeps one
    path; each run day's is kept beside it."""
    day = partition_days(context)[1]
    with warehouse.connect(read_only=True) as con:
        data = read_programme_data(con)
    latest, of_day = report_directory.write(render_programme_report(data, day), day)
    verdicts = Counter(data.headline_verdicts().values())
    context.log.info(f"Wrote the programme report to {of_day} and {latest}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(latest.as_uri()),
            "path": dg.MetadataValue.path(str(latest)),
            "report_of_the_day": dg.MetadataValue.path(str(of_day)),
            "trigger_types": len(data.trigger_types),
            "verdicts": dg.MetadataValue.json(dict(sorted(verdicts.items()))),
        }
    )
