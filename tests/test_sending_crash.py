"""Kill the sender (SIGKILL) at every point of a send, re-run it, and count what recipients get:
exactly one e-mail per send_key, none missed.

The sender runs in a child process (`python -m tests.test_sending_crash ...`) against the local
SendGrid-compatible server, with SendGrid's limits on (10 cancelled batches, the 10-minute
cancel cut-off, rate limits) and SendGrid's own timings (send_at 30 minutes ahead, cancels up
to 11 minutes before it), and a temporary warehouse. It is killed either by itself at a chosen
point of the k-th message (a test backend wraps the real one: no hook in the product code) or
by the test while the server holds its request in flight. Units of 4 messages share a batch,
so a run of a dozen messages has several.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending import (
    Attempt,
    RetryPolicy,
    SendGridBackend,
    SendingPolicy,
    SendResult,
    SendStatus,
    ensure_send_ledger,
    send_emails,
)
from orchestration.emails.sending.ledger import utc_now
from tests.sendgrid_server import FakeSendGrid
from tests.settling import stage_events

API_KEY = "SG.flywheel-crash-test.SECRET"
REPO_ROOT = Path(__file__).resolve().parent.parent
# point -> which call of it crashes: the second unit's batch, the fifth message
CRASH_POINTS = {"after_batch_created": 2, "after_pending_written": 5, "after_provider_accepted": 5}


def crash_emails(count: int) -> list[RenderedEmail]:
    return [
        RenderedEmail(
            send_key=f"crash:user-{i}",
            to_email=f"user{i}@example.com",
            to_name=None,
            subject=f"Level up, user {i}",
            html="<p>Level up</p>",
            text="Level up",
            trigger_type="level_up",
            locale="en",
        )
        for i in range(count)
    ]


class CrashingBackend(SendGridBackend):
    """The real backend, which kills its own process at `point` of the `crash_on`-th call."""

    def __init__(self, *args, point: str | None, crash_on: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.point, self.crash_on = point, crash_on
        self._calls = 0
        self._lock = threading.Lock()

    def _reached(self, point: str) -> bool:
        if self.point != point:
            return False
        with self._lock:
            self._calls += 1
            return self._calls == self.crash_on

    def open_batch(self, retry: RetryPolicy) -> str | None:
        batch_id = super().open_batch(retry)
        if self._reached("after_batch_created"):
            os.kill(os.getpid(), signal.SIGKILL)
        return batch_id

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        if self._reached("after_pending_written"):
            os.kill(os.getpid(), signal.SIGKILL)
        result = super().send(email, attempt)
        if result.status is SendStatus.ACCEPTED and self._reached("after_provider_accepted"):
            os.kill(os.getpid(), signal.SIGKILL)
        return result


def child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--crash-at", choices=CRASH_POINTS)
    parser.add_argument("--crash-on", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4)
    # the clock of the run: now, moved by this many seconds (a later daily run)
    parser.add_argument("--offset", type=float, default=0.0)
    options = parser.parse_args(argv)
    backend = CrashingBackend(
        API_KEY,
        host=options.host,
        request_timeout=5.0,
        point=options.crash_at,
        crash_on=options.crash_on,
        clock=lambda: utc_now() + timedelta(seconds=options.offset),
    )
    con = duckdb.connect(options.warehouse)
    ensure_send_ledger(con)
    report = send_emails(
        con,
        crash_emails(options.count),
        backend,
        max_workers=options.workers,
        retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.1),
        policy=SendingPolicy(batch_size=options.batch_size),
    )
    con.close()
    result = {
        "accepted": report.accepted,
        "resent": report.resent_after_cancel,
        "in_doubt": report.ledger_in_doubt,
        "not_sent": report.not_sent,
    }
    print(json.dumps(result))


def start_child(warehouse: Path, host: str, count: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.test_sending_crash", "--warehouse", str(warehouse)]
    command += ["--host", host, "--count", str(count), *extra]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_to_completion(warehouse: Path, host: str, count: int, *extra: str) -> dict:
    process = start_child(warehouse, host, count, *extra)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def assert_exactly_once(server: FakeSendGrid, warehouse: Path, count: int) -> None:
    keys = {mail.send_key for mail in crash_emails(count)}
    assert server.delivered_per_send_key() == dict.fromkeys(keys, 1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = dict(con.execute("select send_key, status from email.send_ledger").fetchall())
    assert statuses == dict.fromkeys(keys, "accepted")


@pytest.fixture
def server():
    with FakeSendGrid(API_KEY, rate_limit_reset_after=0) as fake:  # SendGrid's limits
        yield fake


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_each_point_of_a_send_then_a_rerun_delivers_exactly_once(
    server, tmp_path, point
):
    warehouse, count = tmp_path / "warehouse.duckdb", 12
    crash_on = str(CRASH_POINTS[point])
    crashed = start_child(
        warehouse, server.host, count, "--crash-at", point, "--crash-on", crash_on
    )
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL

    rerun = run_to_completion(warehouse, server.host, count)
    assert_exactly_once(server, warehouse, count)
    if point == "after_provider_accepted":
        # The provider took the 5th message but the ledger never heard: its batch was
        # cancelled and the message sent again in a new batch.
        assert rerun["resent"] >= 1
        taken_twice = [k for k, n in _taken_per_send_key(server).items() if n > 1]
        assert taken_twice, "the crash must leave a message taken by the provider"
        assert server.cancelled_batches()


def test_a_kill_mid_run_then_a_rerun_delivers_exactly_once(tmp_path):
    warehouse, count = tmp_path / "warehouse.duckdb", 40
    with FakeSendGrid(API_KEY, response_delay=0.05) as server:
        process = start_child(warehouse, server.host, count, "--workers", "4")
        assert server.wait_for_requests(15, path="/v3/mail/send", timeout=30)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert server.request_count("/v3/mail/send") < count, "killed too late to test anything"

        rerun = run_to_completion(warehouse, server.host, count)
        assert_exactly_once(server, warehouse, count)
        assert rerun["resent"] >= 1  # requests in flight at the kill were cancelled, re-sent


def test_a_kill_during_an_in_flight_request_is_resolved_by_cancelling_its_batch(server, tmp_path):
    warehouse, count = tmp_path / "warehouse.duckdb", 8
    server.delay_next(30.0)  # the first mail/send is taken, then its answer is held back
    process = start_child(warehouse, server.host, count, "--workers", "1")
    assert server.wait_for_delayed(timeout=30)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    held = server.messages[0]
    assert held.batch_id not in server.cancelled_batches()

    rerun = run_to_completion(warehouse, server.host, count)
    # the killed unit's four messages were all pending: its batch is cancelled, all four go
    # again, with the other four
    assert rerun == {"accepted": count, "resent": 4, "in_doubt": 0, "not_sent": 0}
    assert held.batch_id in server.cancelled_batches()
    assert_exactly_once(server, warehouse, count)


def test_faults_and_three_kills_with_sendgrid_limits_deliver_each_email_exactly_once(tmp_path):
    """A fifth of the requests fail (429, 500, taken then dropped), SendGrid's limits are on,
    and the sender is killed three times while it sends. Re-runs, then the next daily runs
    with the provider's events, deliver every e-mail once: the attempts in doubt that no
    cancel could settle wait, parked, for the events."""
    warehouse, count = tmp_path / "warehouse.duckdb", 200
    offset = [0.0]  # how far the later runs are in the future
    with FakeSendGrid(
        API_KEY,
        seed=446,
        fault_rate=0.2,
        rate_limit_reset_after=0,
        response_delay=0.005,
        clock=lambda: time.time() + offset[0],
    ) as server:
        for _ in range(3):
            sends = server.request_count("/v3/mail/send")
            process = start_child(warehouse, server.host, count, "--workers", "4")
            assert server.wait_for_requests(sends + 30, path="/v3/mail/send", timeout=60)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            assert process.returncode == -signal.SIGKILL
        runs = [run_to_completion(warehouse, server.host, count)]
        assert runs[0]["not_sent"] == 0, "attempts in doubt never hold back the others"
        while runs[-1]["in_doubt"] and len(runs) < 6:
            offset[0] += 6 * 3600
            with duckdb.connect(str(warehouse)) as con:
                stage_events(con, server)
            runs.append(
                run_to_completion(warehouse, server.host, count, "--offset", str(offset[0]))
            )

        assert runs[0]["in_doubt"], "more attempts in doubt than 10 cancels can settle"
        assert runs[-1]["in_doubt"] == 0 and runs[-1]["not_sent"] == 0
        assert len(server.cancelled_batches()) <= 10 * len(runs) + 10
        assert_exactly_once(server, warehouse, count)


def _taken_per_send_key(server: FakeSendGrid) -> dict[str, int]:
    taken: dict[str, int] = {}
    for message in server.messages:
        taken[message.send_key] = taken.get(message.send_key, 0) + 1
    return taken


if __name__ == "__main__":
    child(sys.argv[1:])
