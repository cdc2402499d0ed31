"""The operators' alert file, and the line a failed run leaves in it (the run failure sensor
in orchestration/sensors.py writes it)."""

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.settings import REPO_ROOT

# At most this many characters of one error message in an alert line.
MAX_ERROR_CHARS = 500


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
