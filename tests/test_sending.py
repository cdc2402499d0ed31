"""The sender against a local SendGrid-compatible server (real HTTP over loopback, the official
client unpatched) and against the outbox: exactly once, retries, rejections, secrets. Every
test that takes `con` runs with the ledger in DuckDB and in PostgreSQL (a throwaway server)."""

import dataclasses
import email
import email.policy
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from python_http_client.exceptions import HTTPError as ClientHTTPError
from sendgrid import SendGridAPIClient

from orchestration.emails.delivery import DeliverySlot, DeliveryWindow
from orchestration.emails.message import RenderedEmail
from orchestration.emails.preview import sample_payloads
from orchestration.emails.render import render_email
from orchestration.emails.sending import (
    Attempt,
    OutboxBackend,
    RetryPolicy,
    SendGridBackend,
    SendingAborted,
    backend_from_settings,
    email_hash,
    ensure_send_ledger,
    fetch_rows,
    send_emails,
)
from orchestration.emails.sending.ledger import LEDGER_DDL, record_pending, utc_now
from orchestration.emails.sending.outbox import SEND_AT_HEADER
from orchestration.emails.unsubscribe_token import read_token
from orchestration.settings import Settings
from orchestration.warehouse import connect_postgres
from tests.postgres_server import PostgresServer, postgres_server
from tests.sendgrid_server import FakeSendGrid
from tests.settling import Clock, send_until_settled, stage_events
from tests.test_delivery import ZONES, assert_in_window

API_KEY = "SG.flywheel-test.0123456789abcdefSECRET"
FAST = RetryPolicy(max_attempts=8, base_delay=0.005, max_delay=0.05, max_rate_limit_wait=5)
# The provider refuses cancels later than CUTOFF before send_at; tests finish well within.
CUTOFF = 2.0


def make_emails(count: int, prefix: str = "weekly") -> list[RenderedEmail]:
    return [
        RenderedEmail(
            send_key=f"{prefix}:user-{i}:2025-W23",
            to_email=f"user{i}@example.com",
            to_name=f"User {i}",
            subject=f"Your week, User {i}",
            html=f"<p>Hello User {i}</p>",
            text=f"Hello User {i}",
            trigger_type="weekly_report",
            locale="en",
            headers={"List-Unsubscribe": f"<https://flywheel.example.com/u?key={prefix}{i}>"},
        )
        for i in range(count)
    ]


def ledger_rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute(
        "select send_key, status, attempts, batch_id, provider_message_id, failure_kind, error, "
        "to_email_hash, backend from email.send_ledger"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["duckdb", "postgres"])
def con(request, tmp_path: Path):
    """A warehouse with the send ledger: a DuckDB file, or a new PostgreSQL database."""
    if request.param == "duckdb":
        connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
        ensure_send_ledger(connection)
        yield connection
        connection.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    database = f"ledger_{uuid.uuid4().hex}"
    server.create_database(database)
    with connect_postgres(server.connect_args(database)) as connection:
        ensure_send_ledger(connection)
        yield connection


@pytest.fixture
def server():
    with FakeSendGrid(API_KEY, cancel_cutoff=CUTOFF, rate_limit_reset_after=0) as fake:
        yield fake


def sendgrid(server: FakeSendGrid, **overrides) -> SendGridBackend:
    options = dict(
        host=server.host,
        delivery_delay=timedelta(seconds=60),
        cancel_cutoff=timedelta(seconds=CUTOFF),
        request_timeout=5.0,
    )
    options.update(overrides)
    return SendGridBackend(options.pop("api_key", API_KEY), **options)


# --- SendGrid: exactly once -----------------------------------------------------------------


def test_every_email_is_delivered_once_and_a_second_run_sends_nothing(con, server):
    emails = make_emails(30)
    report = send_emails(con, emails, sendgrid(server), retry=FAST)

    assert report.accepted == 30 and report.failed == 0
    assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
    rows = ledger_rows(con)
    by_message_id = {m.message_id: m for m in server.messages}
    for mail in emails:
        status, attempts, batch_id, message_id, *_ = rows[mail.send_key]
        assert (status, attempts) == ("accepted", 1)
        delivered = by_message_id[message_id]
        assert delivered.send_key == mail.send_key and delivered.batch_id == batch_id

    message = server.messages[0]
    payload = message.payload
    assert payload["from"] == {"email": "reports@flywheel.example.com", "name": "Flywheel"}
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert message.categories == ("weekly_report",)
    assert message.headers["List-Unsubscribe"].startswith("<https://flywheel.example.com/u")
    assert message.send_at is not None and message.send_at > time.time() + 30
    assert payload["tracking_settings"] == {"click_tracking": {"enable": True}}

    sends = server.request_count("/v3/mail/send")
    again = send_emails(con, emails, sendgrid(server), retry=FAST)
    assert again.already_sent == 30 and again.accepted == 0
    assert server.request_count("/v3/mail/send") == sends


def test_faults_on_a_fifth_of_requests_with_sendgrid_limits_deliver_each_email_exactly_once(con):
    """SendGrid's limits on (10 cancelled batches, the 10-minute cut-off, rate limits): the
    attempts in doubt that no cancel can settle are parked, never block the others, and
    later runs settle them with the provider's events."""
    emails = make_emails(60)
    clock = Clock(datetime(2026, 6, 3, 0, 30))
    with FakeSendGrid(
        API_KEY, seed=20250611, fault_rate=0.2, rate_limit_reset_after=0, clock=clock.epoch
    ) as server:
        backend = SendGridBackend(API_KEY, host=server.host, request_timeout=5.0, clock=clock)
        first, *later = send_until_settled(con, emails, backend, server, clock, retry=FAST)

        faults = {record.fault for record in server.requests}
        assert {"429", "500", "drop"} <= faults, "the seed must exercise every kind of fault"
        # the first run sent everything it could: the rest is parked, not blocked
        assert first.accepted + first.in_doubt == 60 and first.failed == 0
        assert first.in_doubt and first.ledger_in_doubt == first.in_doubt
        assert first.resent_after_cancel >= 1 and first.cancelled_batches <= 10
        assert later and later[-1].ledger_in_doubt == 0
        settled = sum((report.settled for report in later), Counter())
        assert settled["confirmed_by_events"] + settled["no_event"] == first.in_doubt
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}

        # Consistent ledger: the accepted row names the delivered message and its batch; every
        # other batch that received this send_key is cancelled.
        delivered = {m.send_key: m for m in server.delivered()}
        cancelled = server.cancelled_batches()
        for key, (status, attempts, batch_id, message_id, *_rest) in ledger_rows(con).items():
            assert status == "accepted" and attempts >= 1
            assert (delivered[key].message_id, delivered[key].batch_id) == (message_id, batch_id)
            taken = [m for m in server.messages if m.send_key == key]
            assert all(m.batch_id in cancelled for m in taken if m.message_id != message_id)


def test_a_rejected_message_fails_alone_with_the_reason_in_the_ledger(con):
    emails = make_emails(5)
    bad = emails[2]
    with FakeSendGrid(API_KEY, reject_addresses=[bad.to_email], cancel_cutoff=CUTOFF) as server:
        report = send_emails(con, emails, sendgrid(server), retry=FAST)
        assert report.accepted == 4 and report.failed == 1
        status, attempts, _, _, kind, error, *_ = ledger_rows(con)[bad.send_key]
        assert (status, attempts, kind) == ("failed", 1, "rejected")
        assert error == "HTTP 400: personalizations.0.to.0.email: Does not contain a valid address."
        assert report.by_key()[bad.send_key].error == error
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails if e is not bad}

        # A rejection is final: the next run does not try again.
        sends = server.request_count("/v3/mail/send")
        again = send_emails(con, emails, sendgrid(server), retry=FAST)
        assert again.previously_failed == 1 and again.already_sent == 4
        assert server.request_count("/v3/mail/send") == sends


def test_a_429_waits_for_the_rate_limit_reset(con):
    with FakeSendGrid(API_KEY, rate_limit_reset_after=1, cancel_cutoff=CUTOFF) as server:
        server.fail_next("429")
        report = send_emails(con, make_emails(1), sendgrid(server), retry=FAST)
        assert report.accepted == 1
        first, second = [r for r in server.requests if r.path == "/v3/mail/send"]
        assert first.status == 429 and second.status == 202
        assert second.at >= int(first.at) + 1  # X-RateLimit-Reset = int(now) + 1


def test_a_time_out_is_in_doubt_its_batch_is_cancelled_before_sending_again(con, server):
    server.delay_next(3.0)
    mail = make_emails(1)[0]
    report = send_emails(con, [mail], sendgrid(server, request_timeout=0.5), retry=FAST)

    assert report.accepted == 1 and report.resent_after_cancel == 1
    first, second = server.messages
    assert first.batch_id in server.cancelled_batches()
    assert second.batch_id not in server.cancelled_batches()
    assert server.delivered_per_send_key() == {mail.send_key: 1}
    assert ledger_rows(con)[mail.send_key][:2] == ("accepted", 2)


def test_connection_refused_is_retried_without_cancelling_then_fails_as_transient(con):
    with FakeSendGrid(API_KEY) as gone:
        host = gone.host  # a port nobody listens on once the server is stopped
    mail = make_emails(1)[0]
    backend = SendGridBackend(
        API_KEY,
        host=host,
        delivery_delay=timedelta(seconds=60),
        cancel_cutoff=timedelta(seconds=CUTOFF),
    )
    report = send_emails(con, [mail], backend, retry=RetryPolicy(max_attempts=2, base_delay=0))
    assert report.failed == 1
    status, attempts, batch_id, _, kind, error, *_ = ledger_rows(con)[mail.send_key]
    assert (status, attempts, batch_id, kind) == ("failed", 0, None, "transient")
    assert "could not create a batch id: no response" in error

    # Nothing was in flight: the next run (provider back) sends it.
    with FakeSendGrid(API_KEY, cancel_cutoff=CUTOFF) as server:
        again = send_emails(con, [mail], sendgrid(server), retry=FAST)
        assert again.accepted == 1 and not server.cancelled_batches()
        assert server.delivered_per_send_key() == {mail.send_key: 1}


def taken_but_unanswered(server: FakeSendGrid, mail: RenderedEmail, clock: Clock) -> str:
    """The provider took `mail` (send_at in 30 minutes), and no answer reached the sender: a
    crash left its row pending. Returns the batch id."""
    client = SendGridAPIClient(api_key=API_KEY, host=server.host).client
    batch_id = client.mail.batch.post().to_dict["batch_id"]
    send_at = clock.now + timedelta(minutes=30)
    attempt = Attempt("sendgrid", batch_id, send_at, send_at)
    client.mail.send.post(request_body=sendgrid(server).payload(mail, attempt))
    return batch_id


def pending_past_its_cancel_window(con, server, clock) -> tuple[RenderedEmail, str]:
    mail = make_emails(1)[0]
    batch_id = taken_but_unanswered(server, mail, clock)
    send_at = clock.now + timedelta(minutes=30)
    record_pending(con, mail, Attempt("sendgrid", batch_id, send_at, send_at), clock.now)
    clock.now += timedelta(minutes=25)  # the re-run comes too late to cancel
    return mail, batch_id


@pytest.fixture
def clocked():
    """A server and a SendGrid backend on a shared clock, with SendGrid's own timings."""
    clock = Clock(datetime(2026, 6, 3, 0, 30))
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limit_reset_after=0) as server:
        backend = SendGridBackend(API_KEY, host=server.host, request_timeout=5.0, clock=clock)
        yield server, backend, clock


def test_an_attempt_in_doubt_past_its_cancel_window_is_parked_then_confirmed_by_events(
    con, clocked
):
    """The crash left a pending row whose request reached the provider, and the re-run came
    too late to cancel it: never sent again on a guess. The provider's events settle it."""
    server, backend, clock = clocked
    mail, batch_id = pending_past_its_cancel_window(con, server, clock)
    other = make_emails(2, "other")[1]

    report = send_emails(con, [mail, other], backend, retry=FAST)
    assert report.in_doubt == 1 and report.accepted == 1, "the parked one blocks nothing"
    assert ledger_rows(con)[mail.send_key][0] == "pending"
    assert server.cancelled_batches() == set()
    assert server.delivered_per_send_key()[mail.send_key] == 1

    clock.now += timedelta(hours=4)
    stage_events(con, server)  # the Event Webhook's events: processed, delivered, open
    again = send_emails(con, [mail, other], backend, retry=FAST)
    assert again.confirmed == 1 and again.already_sent == 1 and again.ledger_in_doubt == 0
    assert again.settled == Counter(confirmed_by_events=1)
    row = fetch_rows(con, [mail.send_key])[mail.send_key]
    assert (row.status, row.batch_id) == ("accepted", batch_id)
    assert row.provider_message_id == server.messages[0].message_id
    assert server.delivered_per_send_key() == {mail.send_key: 1, other.send_key: 1}


def test_an_attempt_in_doubt_without_a_provider_event_by_its_send_at_is_sent_again(con, clocked):
    """A 503 burst: the provider took nothing and answered nothing useful. Once the events
    received reach past the send_at with none for this send_key, it was not delivered."""
    server, backend, clock = clocked
    mail = make_emails(1)[0]
    send_emails(con, make_emails(3, "other"), backend, retry=FAST)  # the events feed goes on
    server.start_outage("503", paths=["/v3/mail/send", "/v3/user/scheduled_sends"])
    report = send_emails(con, [mail], backend, retry=FAST)
    assert report.in_doubt == 1 and mail.send_key not in server.delivered_per_send_key()
    assert fetch_batches_status(con) == {"cancelling": 1}  # asked, never confirmed
    server.end_outage()

    clock.now += timedelta(hours=1)  # past the send_at, not yet past the settling time
    stage_events(con, server)
    assert send_emails(con, [mail], backend, retry=FAST).in_doubt == 1
    assert fetch_batches_status(con) == {"kept": 1}  # too late to cancel now
    clock.now += timedelta(hours=3)
    stage_events(con, server)
    again = send_emails(con, [mail], backend, retry=FAST)
    assert again.accepted == 1 and again.resent_after_no_event == 1
    assert again.settled == Counter(no_event=1)
    assert server.delivered_per_send_key()[mail.send_key] == 1


def test_an_attempt_in_doubt_nothing_can_settle_is_unresolved_and_reported(con, clocked):
    """Too late to cancel and no events ever (no Event Webhook): after `give_up_after` it is
    marked unresolved for an operator, and never sent again."""
    server, backend, clock = clocked
    mail, batch_id = pending_past_its_cancel_window(con, server, clock)
    assert send_emails(con, [mail], backend, retry=FAST).in_doubt == 1

    clock.now += timedelta(hours=73)
    report = send_emails(con, [mail], backend, retry=FAST)
    assert report.failed == 1 and report.settled == Counter(unresolved=1)
    status, _, _, _, kind, error, *_ = ledger_rows(con)[mail.send_key]
    assert (status, kind) == ("failed", "unresolved")
    assert "too late to cancel and no provider events" in error
    assert mail.send_key in error and batch_id in error
    again = send_emails(con, [mail], backend, retry=FAST)
    assert again.previously_failed == 1
    assert server.delivered_per_send_key() == {mail.send_key: 1}


def test_when_the_provider_refuses_a_cancel_the_message_stays_in_doubt_not_doubled(con):
    """SendGrid limits how many cancelled batches may wait for their send time."""
    first, second = make_emails(2)
    with FakeSendGrid(API_KEY, max_cancelled_batches=1, cancel_cutoff=CUTOFF) as server:
        # The first message's send is taken but not answered, the second one's passes: their
        # batch is cancelled and both are sent again; again the first is not answered, and
        # the second cancel is refused.
        server.fail_next("drop")
        server.fail_next(None)
        server.fail_next("drop")
        report = send_emails(con, [first, second], sendgrid(server), retry=FAST, max_workers=1)

        assert report.accepted == 1 and report.in_doubt == 1
        assert report.resent_after_cancel == 1 and report.cancelled_batches == 1
        stuck = report.by_key()[first.send_key]
        assert "cancel refused: HTTP 400: too many batches cancelled or paused" in stuck.error
        assert ledger_rows(con)[first.send_key][0] == "in_doubt"
        assert fetch_batches_status(con) == {"cancelled": 1, "refused": 1}
        # The dropped request of the stuck message may be delivered: it is, once.
        assert server.delivered_per_send_key() == {first.send_key: 1, second.send_key: 1}

        # Once the provider lets us cancel again, a re-run settles it: the cancel withdraws
        # its batch, the second message included, and both go again.
        server.max_cancelled_batches = None
        again = send_emails(con, [first, second], sendgrid(server), retry=FAST)
        assert again.accepted == 2 and again.resent_after_cancel == 2
        assert server.delivered_per_send_key() == {first.send_key: 1, second.send_key: 1}
        assert {row[0] for row in ledger_rows(con).values()} == {"accepted"}


def fetch_batches_status(con) -> dict[str, int]:
    return dict(
        con.execute("select status, count(*) from email.send_batches group by 1").fetchall()
    )


def test_sandbox_mode_validates_without_batches_or_deliveries(con, server):
    emails = make_emails(3)
    report = send_emails(con, emails, sendgrid(server, sandbox=True), retry=FAST)
    assert report.accepted == 3 and report.backend == "sendgrid_sandbox"
    assert server.request_count("/v3/mail/batch") == 0
    assert all(m.sandbox and m.batch_id is None for m in server.messages)
    assert server.delivered() == []
    assert {row[-1] for row in ledger_rows(con).values()} == {"sendgrid_sandbox"}


def test_asm_group_is_sent_when_configured(con, server):
    send_emails(con, make_emails(1), sendgrid(server, asm_group_id=4242), retry=FAST)
    assert server.messages[0].payload["asm"] == {"group_id": 4242}


def test_duplicate_send_keys_in_the_input_are_sent_once(con, server):
    mail = make_emails(1)[0]
    report = send_emails(con, [mail, mail], sendgrid(server), retry=FAST)
    assert report.accepted == 1 and report.count("duplicate") == 1
    assert server.delivered_per_send_key() == {mail.send_key: 1}


def test_every_ledger_write_happens_on_the_calling_thread(con, server):
    caller = threading.current_thread()

    class CallerOnly:
        def __init__(self, wrapped: duckdb.DuckDBPyConnection) -> None:
            self.wrapped = wrapped

        def execute(self, *args):
            assert threading.current_thread() is caller, "a worker touched DuckDB"
            return self.wrapped.execute(*args)

    server.fail_next("drop", n=3)
    report = send_emails(CallerOnly(con), make_emails(12), sendgrid(server), retry=FAST)
    assert report.accepted == 12


# --- secrets and header injection ---------------------------------------------------------


def test_the_api_key_and_addresses_never_reach_logs_ledger_or_errors(con, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("python_http_client", "python_http_client.client", "sendgrid", "orchestration"):
        caplog.set_level(logging.DEBUG, logger=name)
    emails = make_emails(20)
    with FakeSendGrid(
        API_KEY,
        seed=3,
        fault_rate=0.3,
        reject_addresses=[emails[0].to_email],
        echo_authorization_in_errors=True,  # a hostile error body quoting our headers
        cancel_cutoff=CUTOFF,
        rate_limit_reset_after=0,
    ) as server:
        backend = sendgrid(server)
        report = send_emails(con, emails, backend, retry=FAST)
        assert report.failed == 1 and report.accepted + report.in_doubt == 19

        wrong_key = "SG.wrong-key-that-must-not-leak-either"
        with pytest.raises(SendingAborted) as aborted:
            send_emails(con, make_emails(2, "other"), sendgrid(server, api_key=wrong_key))

    assert any("Bearer [redacted]" in record.getMessage() for record in caplog.records)
    texts = [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    texts += [str(row) for row in con.execute("select * from email.send_ledger").fetchall()]
    texts += [o.error or "" for o in report.outcomes + aborted.value.report.outcomes]
    texts += [str(aborted.value), repr(backend)]
    for text in texts:
        assert API_KEY not in text and wrong_key not in text
        assert "@example.com" not in text, text
    rejected = ledger_rows(con)[emails[0].send_key]
    assert "Bearer [redacted]" in rejected[5]  # the echoed header, scrubbed
    assert rejected[6] == email_hash("USER0@example.com ")


def test_a_refused_api_key_aborts_the_run_and_a_later_run_sends(con, server):
    emails = make_emails(3)
    with pytest.raises(SendingAborted) as aborted:
        send_emails(con, emails, sendgrid(server, api_key="SG.revoked"), retry=FAST)
    assert "HTTP 401" in aborted.value.reason
    assert server.messages == []

    report = send_emails(con, emails, sendgrid(server), retry=FAST)
    assert report.accepted == 3


def test_crlf_in_subject_and_names_cannot_add_headers_over_sendgrid(con, server):
    mail = RenderedEmail(
        send_key="inject:1",
        to_email="eve@example.com",
        to_name="Eve\r\nBcc: victim@example.net",
        subject="Hello\r\nBcc: victim@example.net",
        html="<p>x</p>",
        text="x",
        trigger_type="weekly_report",
        locale="en",
        headers={"List-Unsubscribe": "<https://u>\r\nX-Evil: 1"},
    )
    report = send_emails(con, [mail], sendgrid(server), retry=FAST)
    assert report.accepted == 1  # the fake refuses line breaks: they were flattened
    payload = server.messages[0].payload
    assert payload["subject"] == "Hello Bcc: victim@example.net"
    assert payload["headers"] == {"List-Unsubscribe": "<https://u> X-Evil: 1"}


# --- outbox -------------------------------------------------------------------------------


def test_outbox_writes_a_mime_message_and_its_html_once(con, tmp_path):
    outbox = OutboxBackend(tmp_path / "outbox")
    emails = make_emails(3)
    report = send_emails(con, emails, outbox)
    assert report.accepted == 3

    eml = outbox.eml_path(emails[0].send_key)
    assert eml.with_suffix(".html").read_text() == emails[0].html
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "User 0 <user0@example.com>"
    assert message["Subject"] == emails[0].subject
    assert message["List-Unsubscribe"] == emails[0].headers["List-Unsubscribe"]
    assert message["X-Flywheel-Send-Key"] == emails[0].send_key
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == sorted(
        [outbox.eml_path(e.send_key).name for e in emails]
        + [outbox.eml_path(e.send_key).with_suffix(".html").name for e in emails]
    )

    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "outbox").iterdir()}
    again = send_emails(con, emails, outbox)
    assert again.already_sent == 3
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "outbox").iterdir()} == written


def test_outbox_crash_after_the_file_before_the_ledger_update_is_not_written_again(con, tmp_path):
    outbox = OutboxBackend(tmp_path / "outbox")
    mail = make_emails(1)[0]
    attempt = outbox.plan()
    record_pending(con, mail, attempt, utc_now())
    outbox.send(mail, attempt)  # ... and the process dies before recording "accepted"
    eml = outbox.eml_path(mail.send_key)
    before = (eml.stat().st_ino, eml.stat().st_mtime_ns)

    report = send_emails(con, [mail], outbox)
    assert report.accepted == 1
    assert (eml.stat().st_ino, eml.stat().st_mtime_ns) == before
    assert ledger_rows(con)[mail.send_key][:2] == ("accepted", 2)
    assert fetch_rows(con, [mail.send_key])[mail.send_key].provider_message_id == eml.name


def test_outbox_neutralises_crlf_so_no_header_can_be_added(con, tmp_path):
    outbox = OutboxBackend(tmp_path / "outbox")
    mail = RenderedEmail(
        send_key="inject/../../etc:1",
        to_email="eve@example.com",
        to_name="Eve\r\nBcc: victim@example.net",
        subject="Hello\r\nBcc: victim@example.net\r\n\r\n<body>",
        html="<p>x</p>",
        text="x",
        trigger_type="weekly_report",
        locale="en",
        headers={"List-Unsubscribe": "<https://u>\nX-Evil: 1"},
    )
    assert send_emails(con, [mail], outbox).accepted == 1
    eml = outbox.eml_path(mail.send_key)
    assert eml.parent == tmp_path / "outbox"  # the send_key cannot choose the path
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Hello Bcc: victim@example.net <body>"
    assert message["List-Unsubscribe"] == "<https://u> X-Evil: 1"
    assert message["To"].addresses[0].addr_spec == "eve@example.com"


@pytest.mark.parametrize(
    ("to_email", "headers", "reason"),
    [
        ("eve@example.com\r\nBcc: x@example.net", {}, "spaces or control characters"),
        ("not-an-address", {}, "not valid"),
        ("eve@example.com", {"Bcc": "x@example.net"}, "is set by the sender"),
        ("eve@example.com", {"X-Bad\r\nName": "1"}, "not a valid field name"),
    ],
)
def test_invalid_addresses_and_header_names_are_rejected(con, tmp_path, to_email, headers, reason):
    mail = RenderedEmail(
        "bad:1", to_email, None, "s", "<p>h</p>", "t", "weekly_report", "en", headers
    )
    report = send_emails(con, [mail], OutboxBackend(tmp_path / "outbox"))
    assert report.failed == 1 and reason in report.outcomes[0].error
    assert ledger_rows(con)["bad:1"][4] == "rejected"
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())


# --- wiring -------------------------------------------------------------------------------


def test_backend_from_settings(tmp_path):
    outbox = backend_from_settings(Settings(_env_file=None, FLYWHEEL_OUTBOX_DIR=str(tmp_path)))
    assert isinstance(outbox, OutboxBackend) and outbox.outbox_dir == tmp_path

    chosen = backend_from_settings(
        Settings(
            _env_file=None,
            FLYWHEEL_EMAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY=API_KEY,
            SENDGRID_API_HOST="http://127.0.0.1:9",
            SENDGRID_SANDBOX_MODE=True,
            SENDGRID_ASM_GROUP_ID=7,
            SENDGRID_ASM_GROUPS="tips=8, reports=9",
            FLYWHEEL_REPLY_TO="help@flywheel.example.com",
            **COMPLIANCE,
        )
    )
    assert isinstance(chosen, SendGridBackend)
    assert (chosen.host, chosen.sandbox, chosen.asm_group_id) == ("http://127.0.0.1:9", True, 7)
    assert chosen.asm_group_ids == {"tips": 8, "reports": 9}
    assert chosen.reply_to == "help@flywheel.example.com"
    assert API_KEY not in repr(chosen)

    with pytest.raises(ValueError, match="SENDGRID_API_KEY"):
        backend_from_settings(
            Settings(
                _env_file=None,
                FLYWHEEL_EMAIL_BACKEND="sendgrid",
                SENDGRID_API_KEY=None,
                **COMPLIANCE,
            )
        )


# --- compliance: postal address, signed unsubscribe links, headers -------------------------

COMPLIANCE = {
    "FLYWHEEL_POSTAL_ADDRESS": "Flywheel Inc. · 500 Market Street, San Francisco, CA 94105",
    "FLYWHEEL_SECRET_KEY": "test-secret-key-0123456789abcdef-0123456789",
}


@pytest.mark.parametrize("missing", sorted(COMPLIANCE))
def test_sendgrid_settings_need_a_postal_address_and_a_secret_key(missing):
    present = {name: value for name, value in COMPLIANCE.items() if name != missing}
    with pytest.raises(ValueError, match=missing) as refused:
        Settings(
            _env_file=None, FLYWHEEL_EMAIL_BACKEND="sendgrid", SENDGRID_API_KEY=API_KEY, **present
        )
    assert API_KEY not in str(refused.value)
    # the outbox (demo) runs without them: a demo address and the public development key
    Settings(_env_file=None, FLYWHEEL_EMAIL_BACKEND="outbox", **present)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"FLYWHEEL_SECRET_KEY": "short"}, "at least 32"),
        ({"FLYWHEEL_UNSUBSCRIBE_URL": "https://x.example.com/u?key={send_key}"}, "{token}"),
        ({"FLYWHEEL_UNSUBSCRIBE_URL": "https://x.example.com/u"}, "{token}"),
        ({"SENDGRID_ASM_GROUPS": "newsletters=3"}, "unknown e-mail groups"),
        ({"SENDGRID_ASM_GROUPS": "tips"}, "group=id"),
        ({"FLYWHEEL_REPLY_TO": "help@"}, "FLYWHEEL_REPLY_TO"),
    ],
)
def test_settings_refuse_unsafe_compliance_values(overrides, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        Settings(_env_file=None, **overrides)


def test_flywheel_run_refuses_to_start_on_sendgrid_without_the_compliance_settings(tmp_path):
    """The real command, in a clean environment: it stops before loading anything."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLYWHEEL_", "SENDGRID_"))
    }
    environment.update(
        FLYWHEEL_EMAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY=API_KEY,
        FLYWHEEL_RAW_DIR=str(tmp_path / "raw"),
        FLYWHEEL_WAREHOUSE=str(tmp_path / "warehouse.duckdb"),
    )
    for missing in sorted(COMPLIANCE):
        present = {name: value for name, value in COMPLIANCE.items() if name != missing}
        result = subprocess.run(
            [Path(sys.executable).parent / "flywheel", "run", "--as-of", "2026-03-01"],
            cwd=tmp_path,  # no .env here
            env={**environment, **present},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0
        assert missing in result.stderr
        assert API_KEY not in result.stderr + result.stdout
        assert not (tmp_path / "warehouse.duckdb").exists()


def test_outbox_writes_list_unsubscribe_as_a_plain_url_with_one_click(con, tmp_path):
    settings = Settings(_env_file=None, **COMPLIANCE)
    level_up = next(p for _, _, p in sample_payloads() if p["trigger_type"] == "level_up")
    rendered = render_email({**level_up, "locale": "ru"}, settings)
    outbox = OutboxBackend(
        tmp_path / "outbox", from_name="Флайвил", reply_to="help@flywheel.example.com"
    )
    assert send_emails(con, [rendered], outbox).accepted == 1

    raw = outbox.eml_path(rendered.send_key).read_bytes()
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n", 1)[0].split(b"List-Unsubscribe")[1]
    assert b"\r\nList-Unsubscribe: <https://" in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    message = email.message_from_bytes(raw, policy=email.policy.default)
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<") and header.endswith(">")
    url = urlsplit(header[1:-1])
    assert (url.scheme, url.netloc, url.path) == ("https", "flywheel.example.com", "/unsubscribe")
    token = parse_qs(url.query, strict_parsing=True)["token"][0]
    target = read_token(settings.unsubscribe_secret(), token)
    assert (target.email, target.group, target.lang) == (rendered.to_email, "achievements", "ru")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] == "help@flywheel.example.com"
    assert message["Subject"] == rendered.subject  # non-ASCII headers are still encoded


def test_sendgrid_maps_email_groups_to_unsubscribe_groups_and_sets_reply_to(con, server):
    emails = make_emails(1) + [
        dataclasses.replace(make_emails(1, "tips")[0], trigger_type="feature_adoption_prompt"),
        dataclasses.replace(make_emails(1, "level")[0], trigger_type="level_up"),
    ]
    backend = sendgrid(
        server,
        asm_group_id=100,
        asm_group_ids={"reports": 101, "tips": 102},
        reply_to="help@flywheel.example.com",
    )
    assert send_emails(con, emails, backend, retry=FAST).accepted == 3
    by_trigger = {m.payload["categories"][0]: m.payload for m in server.messages}
    assert by_trigger["weekly_report"]["asm"] == {"group_id": 101}
    assert by_trigger["feature_adoption_prompt"]["asm"] == {"group_id": 102}
    assert by_trigger["level_up"]["asm"] == {"group_id": 100}  # not mapped: the default group
    assert {p["reply_to"]["email"] for p in by_trigger.values()} == {"help@flywheel.example.com"}


def test_the_variant_reaches_sendgrid_the_outbox_and_the_ledger(con, server, tmp_path):
    """Sends and clicks can be counted per variant: SendGrid's events carry the custom arg."""
    emails = [
        dataclasses.replace(mail, trigger_type="inactive_nudge", variant_id=variant)
        for mail, variant in zip(
            make_emails(2, "nudge"), ["control", "progress_waiting"], strict=True
        )
    ]
    assert send_emails(con, emails, sendgrid(server), retry=FAST).accepted == 2
    sent = {
        m.payload["custom_args"]["send_key"]: m.payload["custom_args"]["variant_id"]
        for m in server.messages
    }
    assert sent == {mail.send_key: mail.variant_id for mail in emails}
    recorded = fetch_rows(con, [mail.send_key for mail in emails])
    assert {key: row.variant_id for key, row in recorded.items()} == sent

    outbox = OutboxBackend(tmp_path / "outbox")
    mail = dataclasses.replace(emails[1], send_key="nudge:outbox")
    assert send_emails(con, [mail], outbox).accepted == 1
    message = email.message_from_bytes(
        outbox.eml_path(mail.send_key).read_bytes(), policy=email.policy.default
    )
    assert message["X-Flywheel-Variant"] == "progress_waiting"
    assert fetch_rows(con, [mail.send_key])[mail.send_key].variant_id == "progress_waiting"


# --- the reader's delivery window ------------------------------------------------------------


def zoned_emails(due_on: date, window: DeliveryWindow, zones=ZONES) -> list[RenderedEmail]:
    return [
        RenderedEmail(
            send_key=f"{zone}:level_up:{due_on}",
            to_email=f"user{i}@example.com",
            to_name=None,
            subject="Level up",
            html="<p>Level up</p>",
            text="Level up",
            trigger_type="level_up",
            locale="en",
            delivery=DeliverySlot(zone, due_on, window),
        )
        for i, zone in enumerate(zones)
    ]


def scheduled_sendgrid(server: FakeSendGrid, clock: Clock) -> SendGridBackend:
    # SendGrid's own timings: 30 minutes ahead, cancel up to 11 minutes before send_at
    return SendGridBackend(API_KEY, host=server.host, request_timeout=5.0, clock=clock)


@pytest.mark.parametrize(
    ("run", "weekends", "fault_rate"),
    [
        (datetime(2026, 6, 3, 0, 30), True, 0.0),  # the daily run, an ordinary Wednesday
        (datetime(2026, 6, 3, 13, 0), True, 0.0),
        (datetime(2026, 6, 6, 0, 30), False, 0.0),  # Saturday: Monday morning
        (datetime(2026, 6, 5, 8, 0), False, 0.2),  # Friday, faults: cancel and re-send
        (datetime(2026, 3, 29, 0, 30), True, 0.0),  # Europe's clocks go forward
        (datetime(2026, 10, 24, 0, 30), False, 0.0),  # Saturday before Europe's go back
        (datetime(2026, 11, 1, 18, 0), True, 0.2),  # the US clocks went back this morning
        (datetime(2026, 4, 5, 0, 30), True, 0.0),  # Sydney's went back
    ],
)
def test_sendgrid_schedules_every_email_inside_its_readers_window(con, run, weekends, fault_rate):
    clock = Clock(run)
    window = DeliveryWindow(hour=9, hours=3, weekends=weekends)
    # the triggers of the UTC day that just closed, in each reader's local day
    emails = zoned_emails(run.date() - timedelta(days=1), window)
    emails += zoned_emails(run.date(), window)
    with FakeSendGrid(
        API_KEY, clock=clock.epoch, seed=11, fault_rate=fault_rate, rate_limit_reset_after=0
    ) as server:
        backend = scheduled_sendgrid(server, clock)
        report, *later = send_until_settled(con, emails, backend, server, clock, retry=FAST)
        assert report.accepted + report.in_doubt == len(emails) and report.deferred == 0
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
        if fault_rate:
            assert report.in_doubt or report.resent_after_cancel
            assert not [report, *later][-1].ledger_in_doubt
        else:
            assert report.accepted == len(emails) and not later
        delivered = {m.send_key: m for m in server.delivered()}

    rows = fetch_rows(con, [e.send_key for e in emails])
    for mail in emails:
        send_at = datetime.fromtimestamp(delivered[mail.send_key].send_at, UTC)
        assert_in_window(send_at, window, mail.delivery.timezone, mail.delivery.due_on)
        # (sent again by a later run after no provider event: from that run's time)
        assert timedelta(minutes=30) <= send_at - run.replace(tzinfo=UTC) <= timedelta(hours=96)
        row = rows[mail.send_key]
        assert row.scheduled_for == row.send_at == send_at.replace(tzinfo=None)


def test_a_window_further_than_72_hours_waits_for_a_later_run(con):
    """One-hour window, no weekends, the weekend Europe's clocks go back: on Friday after
    09:30 in Paris, Monday 09:00 is more than 72 hours away."""
    window = DeliveryWindow(hour=9, hours=1, weekends=False)
    friday = date(2026, 10, 23)
    mail = zoned_emails(friday, window, zones=("Europe/Paris",))[0]
    clock = Clock(datetime(2026, 10, 23, 7, 45))  # 09:45 CEST: 10:15 is past the window
    with FakeSendGrid(API_KEY, clock=clock.epoch) as server:
        report = send_emails(con, [mail], scheduled_sendgrid(server, clock), retry=FAST)
        assert report.deferred == 1 and report.accepted == 0
        assert "2026-10-26 08:00 UTC is too far ahead" in report.outcomes[0].error
        assert server.request_count() == 0  # no batch id spent, nothing sent
        assert fetch_rows(con, [mail.send_key]) == {}

        clock.now = datetime(2026, 10, 24, 0, 30)  # Saturday's daily run
        again = send_emails(con, [mail], scheduled_sendgrid(server, clock), retry=FAST)
        assert again.accepted == 1
        (message,) = server.delivered()
        assert message.send_at == datetime(2026, 10, 26, 8, tzinfo=UTC).timestamp()


def test_the_local_server_enforces_sendgrids_scheduling_rules(server):
    client = SendGridAPIClient(api_key=API_KEY, host=server.host).client
    mail = make_emails(1)[0]

    def send(ahead: timedelta) -> str:
        batch_id = client.mail.batch.post().to_dict["batch_id"]
        attempt = Attempt("sendgrid", batch_id, utc_now() + ahead)
        client.mail.send.post(request_body=sendgrid(server).payload(mail, attempt))
        return batch_id

    with pytest.raises(ClientHTTPError) as too_far:
        send(timedelta(hours=72, minutes=1))
    assert too_far.value.status_code == 400 and b"72 hours" in too_far.value.body

    close = send(timedelta(seconds=CUTOFF - 1))  # within the cancel cut-off
    with pytest.raises(ClientHTTPError) as too_late:
        client.user.scheduled_sends.post(request_body={"batch_id": close, "status": "cancel"})
    assert too_late.value.status_code == 400 and b"too late" in too_late.value.body
    far = send(timedelta(hours=71))
    cancelled = client.user.scheduled_sends.post(request_body={"batch_id": far, "status": "cancel"})
    assert cancelled.status_code == 201


def test_the_outbox_records_the_scheduled_time_in_the_message_and_the_ledger(con, tmp_path):
    clock = Clock(datetime(2026, 6, 3, 0, 30))
    outbox = OutboxBackend(tmp_path / "outbox", clock=clock)
    emails = zoned_emails(date(2026, 6, 2), DeliveryWindow())
    emails.append(make_emails(1)[0])  # no window: as soon as possible
    assert send_emails(con, emails, outbox).accepted == len(emails)

    expected = {
        emails[0].send_key: datetime(2026, 6, 3, 7, 0),  # Paris: Wednesday 09:00 CEST
        emails[5].send_key: datetime(2026, 6, 3, 16, 0),  # Los Angeles: 09:00 PDT
        emails[7].send_key: datetime(2026, 6, 3, 0, 30),  # Tokyo: 09:30 JST, now
        emails[-1].send_key: datetime(2026, 6, 3, 0, 30),
    }
    rows = fetch_rows(con, expected)
    for send_key, at in expected.items():
        message = email.message_from_bytes(
            outbox.eml_path(send_key).read_bytes(), policy=email.policy.default
        )
        assert message[SEND_AT_HEADER] == f"{at:%Y-%m-%dT%H:%M:%S}Z"
        assert (rows[send_key].scheduled_for, rows[send_key].send_at) == (at, None)
    for mail in emails[:-1]:
        scheduled = fetch_rows(con, [mail.send_key])[mail.send_key].scheduled_for
        assert_in_window(scheduled.replace(tzinfo=UTC), DeliveryWindow(), *_slot(mail))


def _slot(mail: RenderedEmail) -> tuple[str, date]:
    return mail.delivery.timezone, mail.delivery.due_on


def test_a_ledger_from_before_scheduled_for_gets_the_columns_and_keeps_its_rows(tmp_path):
    old_ddl = LEDGER_DDL.replace("    scheduled_for timestamp,\n", "").replace(
        ",\n    variant_id varchar", ""
    )
    assert "scheduled_for" not in old_ddl
    assert "variant_id" not in old_ddl
    with duckdb.connect(str(tmp_path / "old.duckdb")) as old:
        old.execute("create schema email")
        old.execute(old_ddl)
        old.execute(
            "insert into email.send_ledger (send_key, trigger_type, locale, to_email_hash, "
            "backend, status, attempts, updated_at) values "
            "('old:1', 'level_up', 'en', 'h', 'outbox', 'accepted', 1, now())"
        )
        ensure_send_ledger(old)
        ensure_send_ledger(old)  # again: nothing to add
        row = fetch_rows(old, ["old:1"])["old:1"]
        assert (row.status, row.scheduled_for, row.variant_id) == ("accepted", None, None)
        report = send_emails(old, make_emails(1), OutboxBackend(tmp_path / "outbox"))
        assert report.accepted == 1
        assert old.execute("select count(scheduled_for) from email.send_ledger").fetchone() == (1,)
        assert old.execute("select count(variant_id) from email.send_ledger").fetchone() == (1,)


def test_a_ledger_from_before_the_in_doubt_status_is_rebuilt_with_its_rows(tmp_path):
    old_ddl = LEDGER_DDL.replace(
        "'pending', 'accepted', 'in_doubt', 'failed'", "'pending', 'accepted', 'failed'"
    )
    assert "in_doubt" not in old_ddl
    with duckdb.connect(str(tmp_path / "old.duckdb")) as old:
        old.execute("create schema email")
        old.execute(old_ddl)
        old.execute(
            "insert into email.send_ledger (send_key, trigger_type, locale, to_email_hash, "
            "backend, status, attempts, batch_id, updated_at) values "
            "('old:1', 'level_up', 'en', 'h', 'sendgrid', 'accepted', 2, 'b1', now())"
        )
        ensure_send_ledger(old)
        ensure_send_ledger(old)  # again: nothing to change
        row = fetch_rows(old, ["old:1"])["old:1"]
        assert (row.status, row.attempts, row.batch_id) == ("accepted", 2, "b1")
        old.execute("update email.send_ledger set status = 'in_doubt' where send_key = 'old:1'")
        assert old.execute("select count(*) from email.send_batches").fetchone() == (0,)
