"""The sender against SendGrid's real limits, long outages and services without batches, on the
local SendGrid-compatible server with its limits on (as by default): rate limits, the
10-cancellation limit, an outage of every request for a while, the batch endpoints missing;
and the cost of a clean run: about one request per message, a few ledger statements per unit."""

import logging
import re
import threading
from collections import Counter
from datetime import datetime, timedelta

import duckdb
import pytest
from sendgrid import SendGridAPIClient

from orchestration.emails.sending import (
    RetryPolicy,
    SendGridBackend,
    SendingAborted,
    SendingPolicy,
    backend_from_settings,
    ensure_send_ledger,
    send_emails,
)
from orchestration.settings import Settings
from tests.sendgrid_server import FakeSendGrid
from tests.settling import Clock, stage_events
from tests.test_sending import API_KEY, ledger_rows, make_emails

RETRY = RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.4, max_rate_limit_wait=5)


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_send_ledger(connection)
    yield connection
    connection.close()


@pytest.fixture
def clock():
    return Clock(datetime(2026, 6, 3, 0, 30))  # the daily run


def backend_for(server: FakeSendGrid, clock: Clock, **options) -> SendGridBackend:
    """SendGrid's own timings: send_at 30 minutes ahead, cancels up to 11 minutes before."""
    return SendGridBackend(API_KEY, host=server.host, request_timeout=2.0, clock=clock, **options)


def outage_during_the_run(server: FakeSendGrid, after_sends: int, lasting: float | None) -> None:
    """Every request answers 503 from the `after_sends`-th mail/send on, for `lasting`
    seconds (None: until the test ends it)."""

    def outage() -> None:
        server.wait_for_requests(after_sends, path="/v3/mail/send", timeout=60)
        server.start_outage("503")
        if lasting is not None:
            threading.Timer(lasting, server.end_outage).start()

    threading.Thread(target=outage, daemon=True).start()


# --- a sustained outage ----------------------------------------------------------------------


def test_an_outage_shorter_than_the_patience_is_waited_out_in_the_run(con, clock, caplog):
    caplog.set_level(logging.INFO, logger="orchestration")
    emails = make_emails(200)
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limit_reset_after=0) as server:
        outage_during_the_run(server, after_sends=50, lasting=1.5)
        policy = SendingPolicy(batch_size=20, outage_patience=30)
        report = send_emails(con, emails, backend_for(server, clock), retry=RETRY, policy=policy)

        # 0 duplicates, 0 lost, in the same run
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
        assert report.accepted == 200 and report.in_doubt == 0 and report.not_sent == 0
        assert report.ledger_in_doubt == 0
        assert {row[0] for row in ledger_rows(con).values()} == {"accepted"}
        # the attempts in doubt of the outage were settled by few cancels
        assert 1 <= report.cancelled_batches <= 3 and report.resent_after_cancel >= 1
        # during the outage the run held the others and probed, one message at a time
        failed_sends = [
            r for r in server.requests if r.path == "/v3/mail/send" and r.fault == "503"
        ]
        assert len(failed_sends) < 40, "held back, not failing every message one by one"
    assert report.outage.startswith("the provider failed for ")
    seen = [record.getMessage() for record in caplog.records]
    held = [text for text in seen if "holding the other e-mails and probing" in text]
    assert len(held) == 1
    # the last failed request is a send, or the batch id of the next batch if the outage
    # reaches one: which depends on timing
    assert re.search(
        r"the provider failed \d+ requests in a row "
        r"\(last: (could not create a batch id: )?HTTP 503: service unavailable\); "
        r"\d+ e-mail\(s\) held, \d+ in doubt",
        held[0],
    )
    assert any("provider still failing" in text and "probe 1 in" in text for text in seen)
    assert any("the provider answers again after" in text for text in seen)


def test_an_outage_longer_than_the_patience_stops_the_run_and_a_later_run_sends_the_rest(
    con, clock
):
    emails = make_emails(120)
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limit_reset_after=0) as server:
        outage_during_the_run(server, after_sends=30, lasting=None)
        policy = SendingPolicy(batch_size=20, outage_patience=2)
        backend = backend_for(server, clock)
        report = send_emails(con, emails, backend, retry=RETRY, policy=policy)

        # What the operator sees: the run's summary, and the ledger.
        assert report.outage.startswith("the provider failed ")
        assert "HTTP 503: service unavailable" in report.outage
        assert report.outage.endswith("gave up after 2s")
        assert f"; outage: {report.outage}" in report.summary()
        assert report.not_attempted > 50 and report.in_doubt >= 1
        assert report.accepted + report.in_doubt + report.not_attempted == 120
        rows = ledger_rows(con)
        statuses = Counter((row[0], row[4]) for row in rows.values())
        assert statuses[("accepted", None)] == report.accepted
        assert statuses[("in_doubt", None)] == report.in_doubt
        not_sent = [row for row in rows.values() if row[0] == "failed"]
        assert len(not_sent) == report.not_attempted
        assert all(row[4] == "transient" and "a later run sends it" in row[5] for row in not_sent)
        assert all(e.send_key in rows for e in emails), "nothing silently absent"
        assert max(server.delivered_per_send_key().values()) == 1

        # The provider is back: the next run (a retry of the step) settles and sends the rest.
        server.end_outage()
        again = send_emails(con, emails, backend, retry=RETRY, policy=policy)
        # the held e-mails, and every message of the cancelled batches (the parked ones, and
        # the others of their batch, withdrawn by the cancel)
        assert again.accepted == report.not_attempted + again.resent_after_cancel
        assert again.accepted + again.already_sent == 120
        assert again.in_doubt == 0 and again.not_sent == 0 and again.outage is None
        assert again.cancelled_batches >= 1
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
        assert {row[0] for row in ledger_rows(con).values()} == {"accepted"}


# --- services without scheduled batches ----------------------------------------------------


def test_without_batch_endpoints_the_run_refuses_once_naming_the_setting(con, clock):
    emails = make_emails(25)
    with FakeSendGrid(API_KEY, clock=clock.epoch, batch_endpoints=False) as server:
        with pytest.raises(SendingAborted) as aborted:
            send_emails(con, emails, backend_for(server, clock), retry=RETRY)
        assert server.request_count("/v3/mail/batch") == 1
        assert server.request_count("/v3/mail/send") == 0
    reason = aborted.value.reason
    assert "has no scheduled-send batches (POST /v3/mail/batch: HTTP 404: not found)" in reason
    assert "SENDGRID_BATCHES=optional" in reason and "SENDGRID_API_HOST" in reason
    assert aborted.value.report.not_attempted == 25
    assert ledger_rows(con) == {}


def test_without_batch_endpoints_optional_batches_send_and_events_settle_doubt(con, clock, caplog):
    caplog.set_level(logging.WARNING, logger="orchestration")
    emails = make_emails(30)
    with FakeSendGrid(
        API_KEY, clock=clock.epoch, batch_endpoints=False, rate_limit_reset_after=0
    ) as server:
        backend = backend_for(server, clock, batches="optional")
        server.fail_next("drop")  # taken, never answered: in doubt, and no batch to cancel
        server.fail_next("500")  # not taken, answered 500: in doubt too
        report = send_emails(con, emails, backend, retry=RETRY, max_workers=1)

        assert report.accepted == 28 and report.in_doubt == 2 and report.failed == 0
        assert server.request_count("/v3/mail/batch") == 1, "asked once, not per message"
        assert all(m.batch_id is None and m.send_at for m in server.messages)
        warnings = [r.getMessage() for r in caplog.records if "no scheduled-send" in r.getMessage()]
        assert len(warnings) == 1 and "SENDGRID_BATCHES=optional" in warnings[0]

        clock.now += timedelta(hours=6)  # the next daily run, with the webhook's events
        stage_events(con, server)
        again = send_emails(con, emails, backend, retry=RETRY)
        assert again.settled == Counter(confirmed_by_events=1, no_event=1)
        assert again.confirmed == 1 and again.accepted == 1 and again.resent_after_no_event == 1
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}


def test_the_batches_setting_reaches_the_backend(monkeypatch):
    settings = Settings(
        _env_file=None,
        FLYWHEEL_EMAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY=API_KEY,
        SENDGRID_BATCHES="optional",
        FLYWHEEL_POSTAL_ADDRESS="1 Main St",
        FLYWHEEL_SECRET_KEY="k" * 40,
    )
    assert backend_from_settings(settings).batches == "optional"
    with pytest.raises(ValueError, match="SENDGRID_BATCHES"):
        Settings(_env_file=None, SENDGRID_BATCHES="sometimes")


# --- SendGrid's limits in the test server ---------------------------------------------------


def test_rate_limits_answer_with_their_headers_and_the_sender_waits_for_the_reset(con, clock):
    emails = make_emails(12)
    limits = {"mail_send": (5, 1.0), "other": (600, 60.0)}
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limits=limits) as server:
        client = SendGridAPIClient(api_key=API_KEY, host=server.host).client
        answer = client.mail.batch.post()
        assert answer.headers["X-RateLimit-Limit"] == "600"
        assert answer.headers["X-RateLimit-Remaining"] == "599"
        assert int(answer.headers["X-RateLimit-Reset"]) > 0

        report = send_emails(con, emails, backend_for(server, clock), retry=RETRY)
        assert report.accepted == 12 and report.in_doubt == 0
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
        limited = [r for r in server.requests if r.fault == "rate_limit"]
        assert limited and all(r.status == 429 for r in limited)
        sends = [r for r in server.requests if r.path == "/v3/mail/send" and r.status == 202]
        # never more than 5 accepted within one second's window
        per_second = Counter(int(r.at) for r in sends)
        assert max(per_second.values()) <= 5


def test_the_server_refuses_an_eleventh_cancelled_batch(clock):
    with FakeSendGrid(API_KEY, clock=clock.epoch) as server:
        client = SendGridAPIClient(api_key=API_KEY, host=server.host).client
        statuses = []
        for _ in range(11):
            batch_id = client.mail.batch.post().to_dict["batch_id"]
            try:
                client.user.scheduled_sends.post(
                    request_body={"batch_id": batch_id, "status": "cancel"}
                )
                statuses.append(201)
            except Exception as error:  # the client raises for every status >= 400
                statuses.append(error.status_code)
                assert b"too many batches cancelled or paused" in error.body
        assert statuses == [201] * 10 + [400]


# --- the cost of a clean run ----------------------------------------------------------------


class CountingConnection:
    """The warehouse connection, counting the statements the sender runs."""

    def __init__(self, wrapped: duckdb.DuckDBPyConnection) -> None:
        self.wrapped = wrapped
        self.statements = 0

    def execute(self, *args):
        self.statements += 1
        return self.wrapped.execute(*args)


def test_a_clean_run_makes_about_one_request_per_message_and_few_ledger_writes(con, clock):
    emails = make_emails(450)
    counting = CountingConnection(con)
    with FakeSendGrid(API_KEY, clock=clock.epoch) as server:
        report = send_emails(counting, emails, backend_for(server, clock))
        assert report.accepted == 450
        # one batch per unit of 100 messages, one mail/send per message
        assert server.request_count("/v3/mail/batch") == 5
        assert server.request_count() == 455
        assert len({m.batch_id for m in server.messages}) == 5
    units = 5
    assert counting.statements <= 2 * units + 10  # pending, then answers, per unit


def test_a_run_settles_other_runs_doubt_and_reports_what_it_cannot_send_itself(con, clock):
    """A daily e-mail parked in doubt; the weekly run, hours later with the provider's events,
    settles it as not delivered but cannot send it (not in its input): it says so, and the
    next daily run that has it due sends it."""
    daily, weekly = make_emails(1, "daily"), make_emails(3, "weekly")
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limit_reset_after=0) as server:
        backend = backend_for(server, clock)
        send_emails(con, weekly[:1], backend, retry=RETRY)  # the events feed goes on
        server.start_outage("503", paths=["/v3/mail/send", "/v3/user/scheduled_sends"])
        assert send_emails(con, daily, backend, retry=RETRY).in_doubt == 1
        server.end_outage()

        clock.now += timedelta(hours=6)
        stage_events(con, server)
        report = send_emails(con, weekly, backend, retry=RETRY)
        assert list(report.withdrawn_elsewhere) == [daily[0].send_key]
        assert "1 not delivered, not due in this run" in report.summary()
        assert report.not_sent == 0  # nothing this run could have sent

        again = send_emails(con, daily, backend, retry=RETRY)
        assert again.accepted == 1
        assert server.delivered_per_send_key()[daily[0].send_key] == 1


def test_a_cancel_asked_but_never_confirmed_is_settled_by_the_next_run(con, clock):
    """The cancel of a batch got no answer: until SendGrid says, every message of the batch,
    the accepted ones too, is in doubt. The next run asks, and settles the batch."""
    emails = make_emails(3)
    with FakeSendGrid(API_KEY, clock=clock.epoch, rate_limit_reset_after=0) as server:
        backend = backend_for(server, clock)
        server.fail_next("drop")  # the first message is taken, never answered
        server.start_outage("503", paths=["/v3/user/scheduled_sends"])
        report = send_emails(con, emails, backend, retry=RETRY, max_workers=1)
        assert report.in_doubt == 3 and report.accepted == 0
        batches = con.execute("select status from email.send_batches").fetchall()
        assert batches == [("cancelling",)]

        server.end_outage()
        again = send_emails(con, emails, backend, retry=RETRY)
        assert again.accepted == 3 and again.resent_after_cancel == 3
        assert again.in_doubt == 0 and again.ledger_in_doubt == 0
        batches = con.execute("select status from email.send_batches").fetchall()
        assert batches == [("cancelled",)]
        assert server.delivered_per_send_key() == {e.send_key: 1 for e in emails}
