"""Run Flywheel's jobs in-process, the way `flywheel run` and the tests do."""

import os
from datetime import date

import dagster as dg

from orchestration.run_day import run_day_config


def run_daily(as_of: date, *, raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    """Materialize the daily job for one UTC day."""
    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else None
    return defs.resolve_job_def("daily_build").execute_in_process(
        run_config=run_day_config(as_of),
        instance=instance,
        raise_on_error=raise_on_error,
        tags={"flywheel/as_of": as_of.isoformat()},
    )
