"""The production Dagster instance (docs/operations.md, "The Dagster instance in production"):
the `dagster.yaml` the docs show, on a throwaway PostgreSQL server, with a code server,
`dagster-webserver` and `dagster-daemon` as separate processes. A run launched through the
webserver's GraphQL API waits in the run queue until the daemon starts it, succeeds, and its
record and events are rows in PostgreSQL; so is a schedule's state.

PostgreSQL must be installed (`make system-deps`); without it these tests fail. Every process
group is stopped at teardown."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.demo_data import generate
from orchestration.demo_data.generator import GenerationSummary
from orchestration.ingestion.assets import NO_FILE_SET_ASIDE
from orchestration.settings import REPO_ROOT
from tests.dagster_webserver import (
    STARTUP_DEADLINE_S,
    assert_running,
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
from tests.postgres_server import PostgresServer, postgres_server

AS_OF = date(2026, 3, 31)
RUN_DEADLINE_S = 300
# Long enough for a run launched without the queue to be starting: queued, it waits for a daemon.
QUEUED_WITHOUT_DAEMON_S = 10
DAGSTER = Path(sys.executable).parent / "dagster"
# The production instance exactly as docs/operations.md shows it: its first yaml block with
# `storage:`.
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)

SCHEDULE_MUTATIONS = {
    "start": """
mutation Start($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { id selectorId status } }
    ... on PythonError { message }
  }
}
""",
    "stop": """
mutation Stop($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
""",
}


def documented_production_instance() -> str:
    blocks = YAML_BLOCK.findall(OPERATIONS_DOC.read_text())
    blocks = [block for block in blocks if "storage:" in block]
    assert blocks, f"{OPERATIONS_DOC} shows no dagster.yaml with `storage:`"
    return blocks[0]


@dataclass(frozen=True)
class Deployment:
    url: str
    root: Path
    env: dict[str, str]
    workspace: Path
    log: Path
    warehouse: Path
    raw_data: GenerationSummary
    postgres: PostgresServer
    processes: list[subprocess.Popen]  # all stopped at teardown

    def start(self, command: list, cwd: Path) -> None:
        self.processes.append(start_process_group(command, self.log, cwd=cwd, env=self.env))

    def start_daemon(self) -> None:
        self.start([DAGSTER.with_name("dagster-daemon"), "run", "-w", self.workspace], self.root)

    def query(self, sql: str, *parameters) -> list[tuple]:
        """Rows of the Dagster instance's own database."""
        with closing(self.postgres.connect()) as con, con.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    """The code server and the webserver on the documented instance; no daemon yet."""
    root = tmp_path_factory.mktemp("dagster_postgres")
    raw_data = generate(
        root / "raw", accounts=23, days=7, target_events=2_000, end_date=AS_OF, progress=False
    )
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(documented_production_instance())
    code_server_port, webserver_port = free_port(), free_port()
    workspace = root / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {code_server_port}\n      location_name: flywheel\n"
    )
    with postgres_server(database="dagster") as postgres:
        deployment = Deployment(
            url=f"http://127.0.0.1:{webserver_port}",
            root=root,
            env=os.environ
            | {
                "FLYWHEEL_RAW_DIR": str(root / "raw"),
                "FLYWHEEL_WAREHOUSE": str(root / "flywheel.duckdb"),
                "FLYWHEEL_OUTBOX_DIR": str(root / "outbox"),
                "FLYWHEEL_EMAIL_BACKEND": "outbox",
                "DBT_TARGET": "duckdb",
                "DAGSTER_HOME": str(dagster_home),
                "DAGSTER_PG_HOST": postgres.host,
                "DAGSTER_PG_PORT": str(postgres.port),
                "DAGSTER_PG_DB": postgres.database,
                "DAGSTER_PG_USERNAME": postgres.user,
                "DAGSTER_PG_PASSWORD": postgres.password,
                "DO_NOT_TRACK": "1",
                "PYTHONUNBUFFERED": "1",
            },
            workspace=workspace,
            log=root / "dagster.log",
            warehouse=root / "flywheel.duckdb",
            raw_data=raw_data,
            postgres=postgres,
            processes=[],
        )
        try:
            deployment.start(
                [DAGSTER, "api", "grpc", "-m", "orchestration.definitions"]
                + ["-h", "127.0.0.1", "-p", code_server_port],
                REPO_ROOT,
            )
            wait_until_serving(deployment, code_server_port)
            deployment.start(
                [DAGSTER.with_name("dagster-webserver"), "-w", workspace]
                + ["-h", "127.0.0.1", "-p", webserver_port],
                root,
            )
            wait_until_loaded(deployment.url, deployment.processes, deployment.log)
            yield deployment
        finally:
            for process in reversed(deployment.processes):
                stop_process_group(process)


def wait_until_serving(deployment: Deployment, port: int) -> None:
    """Until the code server has loaded the definitions and answers on its port."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        assert_running(deployment.processes, deployment.log)
        health = subprocess.run(
            [DAGSTER, "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
            env=deployment.env,
        )
        if health.returncode == 0:
            return
        time.sleep(2)
    raise AssertionError(
        f"code server not serving within {STARTUP_DEADLINE_S} s:\n{log_tail(deployment.log)}"
    )


def test_a_run_goes_through_the_daemons_queue_and_is_stored_in_postgres(deployment):
    tables = sorted(deployment.raw_data.rows)
    # What the UI launches for "Materialize" on the raw assets of one daily partition.
    run_id = launch_run(
        deployment.url,
        {
            "selector": repository_holding(deployment.url, "daily_build")
            | {
                "jobName": "daily_build",
                "assetSelection": [{"path": ["raw", table]} for table in tables],
            },
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": str(AS_OF)}]},
        },
    )
    # The webserver only queues the run: nothing starts it until a daemon runs.
    waiting = wait_for_run(deployment.url, run_id, QUEUED_WITHOUT_DAEMON_S, deployment.processes)
    assert waiting == "QUEUED"
    assert deployment.query("select status from runs where run_id = %s", run_id) == [("QUEUED",)]
    deployment.start_daemon()
    status = wait_for_run(deployment.url, run_id, RUN_DEADLINE_S, deployment.processes)
    assert status == "SUCCESS", (
        f"run {run_id} ended as {status} (deadline {RUN_DEADLINE_S} s)\n"
        f"{run_errors(deployment.url, run_id)}\n--- log ---\n{log_tail(deployment.log)}"
    )

    ((stored_status, job_name),) = deployment.query(
        "select status, pipeline_name from runs where run_id = %s", run_id
    )
    assert (stored_status, job_name) == ("SUCCESS", "daily_build")
    tags = dict(deployment.query("select key, value from run_tags where run_id = %s", run_id))
    assert tags["dagster/partition"] == str(AS_OF)
    assert tags["flywheel/warehouse"] == "writer"

    events = [
        event_type
        for (event_type,) in deployment.query(
            "select dagster_event_type from event_logs"
            " where run_id = %s and dagster_event_type is not null order by id",
            run_id,
        )
    ]
    # Queued by the webserver, launched by the daemon's run queue, then run to success.
    lifecycle = [
        event.value  # stored under Dagster's older names: PIPELINE_ENQUEUED, ...
        for event in (
            dg.DagsterEventType.RUN_ENQUEUED,
            dg.DagsterEventType.RUN_STARTING,
            dg.DagsterEventType.RUN_START,
            dg.DagsterEventType.RUN_SUCCESS,
        )
    ]
    assert [event for event in events if event in lifecycle] == lifecycle, events
    materialized = deployment.query(
        "select asset_key from event_logs"
        " where run_id = %s and dagster_event_type = %s order by asset_key",
        run_id,
        dg.DagsterEventType.ASSET_MATERIALIZATION.value,
    )
    assert [key for (key,) in materialized] == [f'["raw", "{table}"]' for table in tables]
    # The selected assets' checks ran, and passed: no raw file was set aside.
    evaluations = [
        dg.deserialize_value(event, dg.EventLogEntry).get_dagster_event().event_specific_data
        for (event,) in deployment.query(
            "select event from event_logs where run_id = %s and dagster_event_type = %s",
            run_id,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
        )
    ]
    assert {
        (evaluation.asset_key, evaluation.check_name)
        for evaluation in evaluations
        if evaluation.passed
    } >= {(dg.AssetKey(["raw", table]), NO_FILE_SET_ASIDE) for table in tables}, evaluations
    # The daemon that launched the run keeps its heartbeat in the same database.
    daemons = {kind for (kind,) in deployment.query("select daemon_type from daemon_heartbeats")}
    assert {"QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR"} <= daemons

    # The run loaded the raw files into the warehouse, every row.
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        loaded = {
            table: con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            for table in tables
        }
    assert loaded == deployment.raw_data.rows


def test_a_schedule_switched_on_in_the_ui_is_stored_in_postgres(deployment):
    selector = repository_holding(deployment.url, "daily_build") | {
        "scheduleName": "daily_build_schedule"
    }
    started = graphql(deployment.url, SCHEDULE_MUTATIONS["start"], {"selector": selector})
    result = started["startSchedule"]
    assert result["__typename"] == "ScheduleStateResult", result
    state = result["scheduleState"]
    stored_status = "select status from instigators where selector_id = %s"
    try:
        assert deployment.query(stored_status, state["selectorId"]) == [("RUNNING",)]
    finally:
        stopped = graphql(deployment.url, SCHEDULE_MUTATIONS["stop"], {"id": state["id"]})
    assert stopped["stopRunningSchedule"]["scheduleState"]["status"] == "STOPPED", stopped
    assert deployment.query(stored_status, state["selectorId"]) == [("STOPPED",)]
