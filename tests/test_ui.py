"""The Dagster UI as an operator starts it (`make ui` runs `dagster dev`): the webserver
loads the code location, the asset graph renders in headless Chromium and reads in flow order
(the e-mail steps after the marts, left to right), and the daily job
launched through the GraphQL API for one daily partition succeeds, and a backfill
over three days runs as one run and fills the warehouse.

Everything runs against temporary data, a temporary warehouse and a temporary DAGSTER_HOME;
the `dagster dev` process group is always killed at teardown."""

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import REPO_ROOT
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE
from tests.dagster_webserver import (
    free_port,
    graphql,
    launch_run,
    log_tail,
    repository_holding,
    run_errors,
    start_process_group,
    stop_process_group,
    wait_for_run,
    wait_until_loaded,
)

AS_OF = date(2026, 3, 31)

RUN_DEADLINE_S = 900
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
MARTS_ASSETS = ("fct_engagement_stages", "fct_cohort_benchmarks_v2")

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

BACKFILL_TERMINAL_STATUSES = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"}
BACKFILL_DAYS = ("2026-03-29", "2026-03-30", "2026-03-31")


@dataclass(frozen=True)
class DagsterDev:
    url: str
    log: Path
    warehouse: Path
    process: subprocess.Popen

    def log_tail(self) -> str:
        return log_tail(self.log)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        return graphql(self.url, query, variables, timeout)


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
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = root / f"dagster_dev.{attempt}.log"
        process = start_process_group(
            [dagster, "dev", "-m", "orchestration.definitions", "-p", port, "-h", "127.0.0.1"],
            log,
            cwd=REPO_ROOT,
            env=env,
        )
        try:
            try:
                wait_until_loaded(url, [process], log)
            except AssertionError:
                if process.poll() is not None and "address already in use" in (
                    log.read_text(errors="replace").lower()
                ):
                    continue
                raise
            yield DagsterDev(url=url, log=log, warehouse=warehouse, process=process)
            return
        finally:
            stop_process_group(process)
    pytest.fail("dagster dev could not bind a free port in 3 attempts")


@pytest.fixture(scope="module")
def repository(dagster_dev) -> dict:
    """The location and repository holding the daily job."""
    return repository_holding(dagster_dev.url, "daily_build")


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
    run_id = launch_run(
        dagster_dev.url,
        {
            "selector": repository | {"jobName": "daily_build"},
            "runConfigData": {},
            # what the launchpad sends for one partition of a partitioned job
            "executionMetadata": {
                "tags": [{"key": "dagster/partition", "value": AS_OF.isoformat()}]
            },
        },
    )
    status = wait_for_run(dagster_dev.url, run_id, RUN_DEADLINE_S, [dagster_dev.process])
    assert status == "SUCCESS", (
        f"run {run_id} ended as {status} (deadline {RUN_DEADLINE_S} s)\n"
        f"{run_errors(dagster_dev.url, run_id)}\n"
        f"--- dagster dev log ---\n{dagster_dev.log_tail()}"
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
    errors = "\n".join(run_errors(dagster_dev.url, run["runId"]) for run in runs)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (
        f"backfill ended as {backfill['status']}\n{errors}\n{dagster_dev.log_tail()}"
    )
    (run,) = runs  # the whole range in one run (single-run backfill policy)
    assert run["status"] == "SUCCESS"
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["dagster/asset_partition_range_start"] == BACKFILL_DAYS[0]
    assert tags["dagster/asset_partition_range_end"] == BACKFILL_DAYS[-1]
