"""Daily partitions: one per UTC day, the unit of the schedule, of re-runs and of backfills.

Every asset of the daily job shares them. A partition window (one day, or a backfill's range
as one run) reaches dbt as the vars `min_date`, `max_date` and `as_of_date`, and the e-mail
steps send what is due on its last day.
"""

import warnings
from datetime import date, timedelta

import dagster as dg

from orchestration.settings import CodeLocationSettings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=CodeLocationSettings().history_start.isoformat(), timezone="UTC"
)

# A backfill over a range runs as one run: dbt builds the whole window in one pass, which is
# much faster than one run per day and gives the same marts.
one_run_per_backfill = dg.BackfillPolicy.single_run()
# Dagster flags the parameter as beta on every asset; the policy is what backfills rely on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# The run tags Dagster sets for a single partition and for a range.
PARTITION_TAG = "dagster/partition"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The first and the last UTC day of the run's partition window."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def run_last_day(run: dg.DagsterRun) -> date | None:
    """The last UTC day of a run's partition (or range); None for an unpartitioned run."""
    key = run.tags.get(RANGE_END_TAG) or run.tags.get(PARTITION_TAG)
    return date.fromisoformat(key) if key else None
