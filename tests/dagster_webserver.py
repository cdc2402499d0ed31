"""Talking to a Dagster webserver that a test started as a subprocess: its GraphQL API, waiting
until it has loaded the code location, following a run to its end, and stopping the process
group at teardown. Used by tests/test_ui.py (`dagster dev`) and tests/test_dagster_postgres.py
(`dagster-webserver` and `dagster-daemon` on a PostgreSQL instance)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

# Loading the code location parses the dbt project: half a minute of CPU, minutes on a busy
# machine.
STARTUP_DEADLINE_S = 420
SHUTDOWN_GRACE_S = 30
LAUNCH_TIMEOUT_S = 180

WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

REPOSITORIES_QUERY = """
query {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN_MUTATION = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on PythonError { message }
  }
}
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message }
        ... on ExecutionStepFailureEvent { stepKey error { message } }
        ... on RunFailureEvent { pipelineFailureError: error { message } }
      }
    }
  }
}
"""

TERMINAL_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """The `data` of a GraphQL answer; fails on GraphQL errors."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    assert not payload.get("errors"), f"GraphQL errors: {payload['errors']}"
    return payload["data"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process_group(command: Sequence[str | Path], log: Path, **popen) -> subprocess.Popen:
    """Start a Dagster process in its own process group, its output appended to `log`."""
    with log.open("ab") as log_file:
        return subprocess.Popen(
            [str(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
            **popen,
        )


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole group (webserver, daemon, code server, run workers), then SIGKILL
    whatever is left once the grace period is over."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=SHUTDOWN_GRACE_S)
    # Children that outlived the process itself are still in its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def log_tail(log: Path, lines: int = 80) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError as error:
        return f"<no log: {error}>"
    return "\n".join(text.splitlines()[-lines:])


def assert_running(processes: Sequence[subprocess.Popen], log: Path) -> None:
    for process in processes:
        if process.poll() is not None:
            raise AssertionError(
                f"{' '.join(process.args[:3])} exited with {process.returncode}:\n{log_tail(log)}"
            )


def wait_until_loaded(url: str, processes: Sequence[subprocess.Popen], log: Path) -> None:
    """Until /server_info answers and the code location is loaded; fails at once if one of
    the processes exits or the location fails to load."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    last_problem = "nothing tried yet"
    server_up = False
    while time.monotonic() < deadline:
        assert_running(processes, log)
        try:
            if not server_up:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                    json.load(response)
                server_up = True
            workspace = graphql(url, WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
            assert workspace["__typename"] == "Workspace", workspace
            entries = workspace["locationEntries"]
            for entry in entries:
                location = entry["locationOrLoadError"] or {}
                if location.get("__typename") == "PythonError":
                    raise AssertionError(
                        f"code location {entry['name']} failed to load: {location['message']}"
                    )
            if entries and all(
                entry["loadStatus"] == "LOADED"
                and (entry["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
                for entry in entries
            ):
                return
            last_problem = f"locations not loaded yet: {entries}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            last_problem = repr(error)
        time.sleep(1)
    raise AssertionError(
        f"webserver not ready within {STARTUP_DEADLINE_S} s ({last_problem}):\n{log_tail(log)}"
    )


def repository_holding(url: str, job_name: str) -> dict:
    """The location and repository of a job, as a GraphQL selector."""
    repositories = graphql(url, REPOSITORIES_QUERY)["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    holding = [
        node
        for node in repositories["nodes"]
        if any(job["name"] == job_name for job in node["jobs"])
    ]
    assert len(holding) == 1, repositories
    return {
        "repositoryLocationName": holding[0]["location"]["name"],
        "repositoryName": holding[0]["name"],
    }


def launch_run(url: str, execution_params: dict) -> str:
    """Launch a run as the launchpad does; its run id."""
    # The webserver builds the run's execution plan before it answers: on a busy machine
    # that takes more than the 30 s a query gets.
    launched = graphql(
        url, LAUNCH_RUN_MUTATION, {"executionParams": execution_params}, timeout=LAUNCH_TIMEOUT_S
    )
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    return launched["launchRun"]["run"]["runId"]


def wait_for_run(
    url: str, run_id: str, deadline_s: float, processes: Sequence[subprocess.Popen]
) -> str | None:
    """The run's status once it has ended, or its last status at the deadline or when one of
    the processes has exited."""
    deadline = time.monotonic() + deadline_s
    status = None
    while time.monotonic() < deadline:
        run = graphql(url, RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        status = run["status"]
        if status in TERMINAL_STATUSES:
            break
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(2)
    return status


def run_errors(url: str, run_id: str) -> str:
    """The run's failure events, to tell why it failed (best effort)."""
    try:
        logs = graphql(url, RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"]
    except Exception as error:  # noqa: BLE001 - only adds detail to a failing assertion
        return f"<no run events: {error!r}>"
    lines = []
    for event in logs.get("events", []):
        if event["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent"):
            error = event.get("error") or event.get("pipelineFailureError") or {}
            lines.append(f"{event.get('stepKey') or 'run'}: {event.get('message')}")
            if error.get("message"):
                lines.append(error["message"])
    return "\n".join(lines[-20:]) or "<no failure events>"
