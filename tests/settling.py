"""Time and the provider's events for sending tests: a clock shared by the backend and the
local SendGrid server, the Event Webhook's events staged as dbt would stage them, and runs
repeated the way the daily schedule repeats them, until every attempt in doubt is settled."""

from datetime import UTC, datetime, timedelta

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending import SendBackend, SendReport, send_emails
from orchestration.emails.sending.events import EVENTS_RELATION
from orchestration.warehouse import WarehouseConnection
from tests.sendgrid_server import FakeSendGrid


class Clock:
    """A run at a chosen instant, shared by the backend and the server (naive UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.replace(tzinfo=UTC).timestamp()


def stage_events(con: WarehouseConnection, server: FakeSendGrid) -> int:
    """The server's Event Webhook events so far, as `staging.stg_sendgrid__email_events`
    has them (the columns the sender reads). Returns how many."""
    rows = server.events()
    con.execute("create schema if not exists staging")
    con.execute(f"drop table if exists {EVENTS_RELATION}")
    con.execute(
        f"create table {EVENTS_RELATION} (email_event_id varchar, "
        "sg_message_id varchar, send_key varchar, event_type varchar, event_at timestamp)"
    )
    if rows:
        con.executemany(
            f"insert into {EVENTS_RELATION} values (?, ?, ?, ?, ?)",
            [
                [
                    r["sg_event_id"],
                    r["sg_message_id"],
                    r["send_key"],
                    r["event"],
                    datetime.fromtimestamp(int(r["timestamp"]), UTC).replace(tzinfo=None),
                ]
                for r in rows
            ],
        )
    return len(rows)


def send_until_settled(
    con: WarehouseConnection,
    emails: list[RenderedEmail],
    backend: SendBackend,
    server: FakeSendGrid,
    clock: Clock,
    *,
    runs: int = 8,
    every: timedelta = timedelta(hours=6),
    **options,
) -> list[SendReport]:
    """Send, then, while attempts are in doubt, let `every` pass (the provider delivers, the
    webhook's events arrive) and run again: a later daily run. Returns the reports."""
    reports = [send_emails(con, emails, backend, **options)]
    while reports[-1].ledger_in_doubt and len(reports) < runs:
        clock.now += every
        stage_events(con, server)
        reports.append(send_emails(con, emails, backend, **options))
    return reports
