"""The Dagster UI as an operator starts it (`make ui` runs `dagster dev`): the webserver
loads the code location, the asset graph renders in headless Chromium and reads in flow order
(the e-mail steps after the marts, left to right), and the daily job
launched through the GraphQL API for one daily partition succeeds, and a backfill
over three days runs as one run and fills the warehouse.

Everything runs against temporary data, a temporary warehouse and a temporary DAGSTER_HOME;
the `dagster dev` process group is always killed at teardown."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import REPO_ROOT
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE

AS_OF = date(2026, 3, 31)

# dagster dev parses the dbt project before it serves: half a minute of CPU, minutes on a
# busy machine.
STARTUP_DEADLINE_S = 420
RUN_DEADLINE_S = 900
SHUTDOWN_GRACE_S = 30
# The global lineage shows one node per asset group; a group's page one node per asset.
GRAPH_GROUPS = ("raw", "staging", "intermediate", "marts", "reports", "sending", "feedback")
# The e-mail flow, left to right: its groups after the marts, and their assets expanded.
EMAIL_FLOW_GROUPS = ("reports", "sending", "feedback")
EMAIL_FLOW_ASSETS = (
    "rpt_email_payloads",
    "rendered_emails",
    "send_ledger",
    "stg_flywheel__send_ledger",
)
# Nodes the marts graph draws in view (the graph draws only the nodes inside the viewport).
MARTS_ASSETS = ("fct_email_triggers", "fct_cohort_benchmarks")

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

JOB_ASSETS_QUERY = """
query JobAssets($pipeline: PipelineSelector!) {
  assetNodes(pipeline: $pipeline) { assetKey { path } }
}
"""

LAUNCH_BACKFILL_MUTATION = """
mutation LaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

BACKFILL_QUERY = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      status
      runs { runId status tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

TERMINAL_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_TERMINAL_STATUSES = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"}
BACKFILL_DAYS = ("2026-03-29", "2026-03-30", "2026-03-31")


@dataclass(frozen=True)
class DagsterDev:
    url: str
    log: Path
    warehouse: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError as error:
            return f"<no log: {error}>"
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        return _graphql(self.url, query, variables, timeout)


def _graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    assert not payload.get("errors"), f"GraphQL errors: {payload['errors']}"
    return payload["data"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole group (webserver, daemon, code server, run workers), then SIGKILL
    whatever is left once the grace period is over."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=SHUTDOWN_GRACE_S)
    # Children that outlived `dagster dev` itself are still in its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _wait_until_loaded(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until /server_info answers and the code location is loaded; fails at once if
    `dagster dev` exits or the location fails to load."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    last_problem = "nothing tried yet"
    server_up = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-5000:]
            raise AssertionError(f"dagster dev exited with {process.returncode}:\n{tail}")
        try:
            if not server_up:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                    json.load(response)
                server_up = True
            workspace = _graphql(url, WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
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
    tail = log.read_text(errors="replace")[-5000:]
    raise AssertionError(
        f"dagster dev not ready within {STARTUP_DEADLINE_S} s ({last_problem}):\n{tail}"
    )


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory) -> DagsterDev:
    from orchestration.demo_data import generate

    root = tmp_path_factory.mktemp("ui")
    raw_dir = root / "raw"
    generate(raw_dir, accounts=25, days=30, target_events=8_000, end_date=AS_OF, progress=False)
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    warehouse = root / "flywheel.duckdb"
    env = os.environ | {
        "FLYWHEEL_RAW_DIR": str(raw_dir),
        "FLYWHEEL_WAREHOUSE": str(warehouse),
        "FLYWHEEL_OUTBOX_DIR": str(root / "outbox"),
        "FLYWHEEL_EMAIL_BACKEND": "outbox",
        "DBT_TARGET": "duckdb",
        "DAGSTER_HOME": str(dagster_home),
        "DO_NOT_TRACK": "1",
        "PYTHONUNBUFFERED": "1",
    }
    dagster = Path(sys.executable).parent / "dagster"

    # The port is free when chosen but could be taken before the webserver binds it:
    # start again on another port if `dagster dev` dies that way.
    for attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = root / f"dagster_dev.{attempt}.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [dagster, "dev", "-m", "orchestration.definitions"]
                + ["-p", str(port), "-h", "127.0.0.1"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole below
            )
        try:
            try:
                _wait_until_loaded(url, process, log)
            except AssertionError:
                if process.poll() is not None and "address already in use" in (
                    log.read_text(errors="replace").lower()
                ):
                    continue
                raise
            yield DagsterDev(url=url, log=log, warehouse=warehouse, process=process)
            return
        finally:
            _stop_process_group(process)
    pytest.fail("dagster dev could not bind a free port in 3 attempts")


@pytest.fixture(scope="module")
def repository(dagster_dev) -> dict:
    """The location and repository holding the daily job."""
    repositories = dagster_dev.graphql(REPOSITORIES_QUERY)["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    holding = [
        node
        for node in repositories["nodes"]
        if any(job["name"] == "daily_build" for job in node["jobs"])
    ]
    assert len(holding) == 1, repositories
    return {
        "repositoryLocationName": holding[0]["location"]["name"],
        "repositoryName": holding[0]["name"],
    }


def test_asset_graph_renders_in_chromium(dagster_dev, repository, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"no Chromium at {CHROMIUM}: run `make system-deps`"
    # The "Join the Dagster community" dialog would cover the graph on a fresh DAGSTER_HOME.
    dagster_dev.graphql("mutation { setNuxSeen }")
    location = urllib.parse.quote(repository["repositoryLocationName"], safe="")
    screenshots = {
        "global": tmp_path / "global_asset_lineage.png",
        "email_flow": tmp_path / "email_flow_asset_graph.png",
        "marts": tmp_path / "marts_asset_graph.png",
    }
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            # wide enough that the marts group's graph fits at a zoom that still labels nodes
            page = browser.new_page(viewport={"width": 2400, "height": 1600})
            page.set_default_timeout(60_000)
            # Global lineage: one collapsed node per asset group.
            page.goto(f"{dagster_dev.url}/asset-groups", wait_until="domcontentloaded")
            for name in GRAPH_GROUPS:
                graph_node(page, name).wait_for(state="visible")
            page.screenshot(path=str(screenshots["global"]))
            groups_x = {name: node_x(page, name) for name in GRAPH_GROUPS}
            flow = ("marts", *EMAIL_FLOW_GROUPS)
            assert [groups_x[name] for name in flow] == sorted(groups_x[name] for name in flow), (
                f"the e-mail groups do not follow the marts left to right: {groups_x}"
            )
            # The e-mail flow's groups alone, each expanded (a click on a group expands it;
            # the page opened again at that address fits them all in view).
            selection = " or ".join(f'group:"{name}"' for name in EMAIL_FLOW_GROUPS)
            page.goto(
                f"{dagster_dev.url}/asset-groups~{urllib.parse.quote(selection, safe='')}/",
                wait_until="domcontentloaded",
            )
            for name in EMAIL_FLOW_GROUPS:
                graph_node(page, name).click()
            page.goto(page.url, wait_until="domcontentloaded")
            for name in EMAIL_FLOW_ASSETS:
                graph_node(page, name).wait_for(state="visible")
            page.screenshot(path=str(screenshots["email_flow"]))
            assets_x = [node_x(page, name) for name in EMAIL_FLOW_ASSETS]
            assert assets_x == sorted(set(assets_x)), (
                f"payloads, render, send and feedback are not left to right: "
                f"{dict(zip(EMAIL_FLOW_ASSETS, assets_x, strict=True))}"
            )
            # One group's graph: a node per asset.
            page.goto(
                f"{dagster_dev.url}/locations/{location}/asset-groups/marts",
                wait_until="domcontentloaded",
            )
            for name in MARTS_ASSETS:
                graph_node(page, name).wait_for(state="visible")
            page.screenshot(path=str(screenshots["marts"]))
        finally:
            browser.close()
    for path in screenshots.values():
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path
        assert len(data) > 20_000, f"{path.name} has {len(data)} bytes: the page looks empty"


def graph_node(page, name: str):
    """The label of a node of the asset graph (drawn in the SVG), not the sidebar's."""
    return page.locator("foreignObject").get_by_text(name, exact=True).first


def node_x(page, name: str) -> float:
    """Where a node's label starts on the page, left to right."""
    box = graph_node(page, name).bounding_box()
    assert box is not None, f"{name} is not drawn"
    return box["x"]


def test_daily_build_launched_through_graphql_succeeds(dagster_dev, repository):
    launched = dagster_dev.graphql(
        LAUNCH_RUN_MUTATION,
        {
            "executionParams": {
                "selector": repository | {"jobName": "daily_build"},
                "runConfigData": {},
                # what the launchpad sends for one partition of a partitioned job
                "executionMetadata": {
                    "tags": [{"key": "dagster/partition", "value": AS_OF.isoformat()}]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + RUN_DEADLINE_S
    status = None
    while time.monotonic() < deadline:
        run = dagster_dev.graphql(RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        status = run["status"]
        if status in TERMINAL_STATUSES:
            break
        if dagster_dev.process.poll() is not None:
            break
        time.sleep(2)
    assert status == "SUCCESS", (
        f"run {run_id} ended as {status} (deadline {RUN_DEADLINE_S} s)\n"
        f"{_run_errors(dagster_dev, run_id)}\n--- dagster dev log ---\n{dagster_dev.log_tail()}"
    )

    with duckdb.connect(str(dagster_dev.warehouse), read_only=True) as con:
        triggers = con.execute("select count(*) from marts.fct_email_triggers").fetchone()[0]
    assert triggers > 0


def test_a_backfill_launched_like_the_ui_does_is_one_run_per_range(dagster_dev, repository):
    pipeline = repository | {"pipelineName": "daily_build"}
    nodes = dagster_dev.graphql(JOB_ASSETS_QUERY, {"pipeline": pipeline})["assetNodes"]
    assets = [{"path": node["assetKey"]["path"]} for node in nodes]
    assert len(assets) > 50
    launched = dagster_dev.graphql(
        LAUNCH_BACKFILL_MUTATION,
        {"backfillParams": {"assetSelection": assets, "partitionNames": list(BACKFILL_DAYS)}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    # the daemon that `dagster dev` starts turns the backfill into runs
    deadline = time.monotonic() + RUN_DEADLINE_S
    backfill = None
    while time.monotonic() < deadline and dagster_dev.process.poll() is None:
        backfill = dagster_dev.graphql(BACKFILL_QUERY, {"backfillId": launched["backfillId"]})[
            "partitionBackfillOrError"
        ]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        if backfill["status"] in BACKFILL_TERMINAL_STATUSES:
            break
        time.sleep(3)
    assert backfill is not None
    runs = backfill["runs"]
    errors = "\n".join(_run_errors(dagster_dev, run["runId"]) for run in runs)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (
        f"backfill ended as {backfill['status']}\n{errors}\n{dagster_dev.log_tail()}"
    )
    (run,) = runs  # the whole range in one run (single-run backfill policy)
    assert run["status"] == "SUCCESS"
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["dagster/asset_partition_range_start"] == BACKFILL_DAYS[0]
    assert tags["dagster/asset_partition_range_end"] == BACKFILL_DAYS[-1]


def _run_errors(dagster_dev: DagsterDev, run_id: str) -> str:
    """The run's failure events, to tell why it failed (best effort)."""
    try:
        logs = dagster_dev.graphql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"]
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
