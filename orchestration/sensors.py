"""Sensors: new raw files start a daily build; a failed run leaves an alert for operators."""

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.ingestion.contract import RAW_TABLES
from orchestration.ingestion.loader import table_files
from orchestration.jobs import daily_build
from orchestration.resources import RawDirectory
from orchestration.settings import REPO_ROOT

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

# At most this many characters of one error message in an alert line.
MAX_ERROR_CHARS = 500


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


class AlertLog(dg.ConfigurableResource):
    """The file operators watch for failed runs: one line per failure, appended.

    `path` empty: `$DAGSTER_HOME/alerts.log` (the repository's `.dagster_home/` when
    DAGSTER_HOME is not set).
    """

    path: str = ""

    @property
    def file(self) -> Path:
        if self.path:
            return Path(self.path)
        return Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home") / "alerts.log"

    def append(self, line: str) -> Path:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.open("a", encoding="utf-8") as alerts:
            alerts.write(line.rstrip("\n") + "\n")
        return self.file


def _one_line(text: str) -> str:
    text = re.sub(r"\s*\n\s*", " / ", text.strip())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def failure_alert(context: dg.RunFailureSensorContext) -> str:
    """One line: when, which job and run, the failed checks and each failed step's error."""
    run = context.dagster_run
    problems = []
    check_evaluations = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for record in check_evaluations:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            problems.append(
                f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                f"({evaluation.severity.value}) failed: {_one_line(evaluation.description or '')}"
            )
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error
        while error is not None and error.cause is not None:  # the user code's own error
            error = error.cause
        message = error.message if error is not None else event.message or "no error message"
        problems.append(f"step {event.step_key} failed: {_one_line(message)}")
    if not problems:
        problems.append(_one_line(context.failure_event.message or "run failed"))
    return (
        f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} FAILED job={run.job_name} run_id={run.run_id} "
        + " | ".join(problems)
    )


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
