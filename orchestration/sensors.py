"""Sensors: new raw files start a daily build; a failed run leaves an alert for operators."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.alerts import AlertLog, failure_alert
from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import table_files
from orchestration.jobs import daily_build
from orchestration.resources import RawDirectory

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

# --- new raw files -------------------------------------------------------------------------


def scan_raw_files(root: Path) -> dict[str, str]:
    """Every file the loader would read, by path relative to the raw directory, with its
    size and modification time ("size:mtime_ns"): a file that changes shows as new."""
    files = {}
    for table in RAW_TABLES:
        for path in table_files(root, table):
            stat = path.stat()
            files[path.relative_to(root).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return files


@dg.sensor(
    job=daily_build,
    minimum_interval_seconds=60,
    description="Starts a daily build when files appear (or change) in FLYWHEEL_RAW_DIR. "
    "Waits while a daily build is queued or running, then picks the files up.",
)
def raw_files_sensor(
    context: dg.SensorEvaluationContext, raw_directory: RawDirectory
) -> dg.SensorResult | dg.SkipReason:
    # The cursor is the directory as last seen: {relative path: "size:mtime_ns"}.
    known = json.loads(context.cursor) if context.cursor else {}
    current = scan_raw_files(raw_directory.root)
    new = {path: stamp for path, stamp in current.items() if known.get(path) != stamp}
    if not new:
        return dg.SkipReason(f"no new files in {raw_directory.root} ({len(current)} known)")
    running = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=daily_build.name, statuses=IN_PROGRESS), limit=1
    )
    if running:
        # The cursor stays: the files count as new again once that run has finished.
        return dg.SkipReason(
            f"{len(new)} new file(s); waiting for daily_build run {running[0].run_id} to finish"
        )
    digest = hashlib.sha256(json.dumps(sorted(new.items())).encode()).hexdigest()[:16]
    # The partition of the last UTC day that has closed, as the daily schedule would build.
    request = dg.RunRequest(
        run_key=f"raw_files:{digest}",
        partition_key=(datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
        tags={"flywheel/new_files": str(len(new))},
    )
    context.log.info(f"{len(new)} new raw file(s): {', '.join(sorted(new)[:10])}")
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(current, sort_keys=True))


# --- failed runs ---------------------------------------------------------------------------


@dg.run_failure_sensor(
    description="Logs every failed run of this code location (job, run id, failed checks and "
    "step errors) and appends it as one line to the operators' alert file.",
)
def run_failure_sensor(context: dg.RunFailureSensorContext, alert_log: AlertLog) -> None:
    alert = failure_alert(context)
    context.log.error(alert)
    path = alert_log.append(alert)
    context.log.info(f"alert written to {path}")


sensors = [raw_files_sensor, run_failure_sensor]
