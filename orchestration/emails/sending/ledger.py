"""The send ledger: one row per `send_key`, written before and after every provider call.

The table lives in the warehouse (`email.send_ledger`) so that dbt reads it as a source and an
operator can query it. It holds what the sender knows and nothing personal: the recipient's
address only as an MD5 hash (of the trimmed, lower-cased address), never the API key.

Every function here runs on the thread that owns the DuckDB connection, one statement per call
(autocommit), so a crash never loses a write that was made before the provider call it guards.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import duckdb

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending.backend import Attempt

LEDGER_TABLE = "email.send_ledger"

LedgerStatus = Literal["pending", "accepted", "failed"]
# rejected: the provider refused the message (final); transient: retries ran out and nothing
# is in flight (a re-run tries again); unresolved: an attempt may have been delivered and can
# no longer be cancelled (final: never sent again, an operator checks the provider).
FailureKind = Literal["rejected", "transient", "unresolved"]

LEDGER_DDL = f"""
create table if not exists {LEDGER_TABLE} (
    send_key varchar primary key,
    trigger_type varchar not null,
    locale varchar not null,
    to_email_hash varchar not null,
    backend varchar not null,
    status varchar not null check (status in ('pending', 'accepted', 'failed')),
    attempts integer not null,
    batch_id varchar,
    send_at timestamp,
    scheduled_for timestamp,
    first_attempt_at timestamp,
    last_attempt_at timestamp,
    accepted_at timestamp,
    provider_message_id varchar,
    failure_kind varchar check (failure_kind in ('rejected', 'transient', 'unresolved')),
    error varchar,
    updated_at timestamp not null
)
"""

_COLUMNS = (
    "send_key, trigger_type, locale, to_email_hash, backend, status, attempts, batch_id, "
    "send_at, first_attempt_at, last_attempt_at, accepted_at, provider_message_id, "
    "failure_kind, error, updated_at, scheduled_for"
)


@dataclass(frozen=True)
class LedgerRow:
    send_key: str
    trigger_type: str
    locale: str
    to_email_hash: str
    backend: str
    status: LedgerStatus
    attempts: int
    batch_id: str | None
    send_at: datetime | None
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    accepted_at: datetime | None
    provider_message_id: str | None
    failure_kind: FailureKind | None
    error: str | None
    updated_at: datetime
    scheduled_for: datetime | None  # when the reader's delivery window asked it to arrive

    @property
    def attempt(self) -> Attempt:
        """The last attempt recorded for this row."""
        return Attempt(
            backend=self.backend,
            batch_id=self.batch_id,
            send_at=self.send_at,
            scheduled_for=self.scheduled_for,
        )


class LedgerConflict(RuntimeError):
    """A write found the row in a state the sender did not expect (never overwrite a send)."""


def ensure_send_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `email` schema and the send ledger if they do not exist, and add the columns
    that later versions introduced to a ledger an earlier version created (existing rows get
    null: their time was not recorded)."""
    con.execute("create schema if not exists email")
    con.execute(LEDGER_DDL)
    con.execute(f"alter table {LEDGER_TABLE} add column if not exists scheduled_for timestamp")


def email_hash(address: str) -> str:
    """MD5 of the trimmed, lower-cased address: joinable, not readable."""
    return hashlib.md5(address.strip().lower().encode("utf-8")).hexdigest()


def utc_now() -> datetime:
    """Now as a naive UTC timestamp, the ledger's convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def fetch_rows(con: duckdb.DuckDBPyConnection, send_keys: Iterable[str]) -> dict[str, LedgerRow]:
    keys = list(send_keys)
    if not keys:
        return {}
    rows = con.execute(
        f"select {_COLUMNS} from {LEDGER_TABLE} where list_contains(?, send_key)", [keys]
    ).fetchall()
    return {row[0]: LedgerRow(*row) for row in rows}


def record_pending(
    con: duckdb.DuckDBPyConnection, email: RenderedEmail, attempt: Attempt, now: datetime
) -> None:
    """Before a provider call: the attempt (batch id, send_at, scheduled_for) and attempts
    + 1."""
    written = con.execute(
        f"""
        insert into {LEDGER_TABLE} as ledger (
            send_key, trigger_type, locale, to_email_hash, backend, status, attempts,
            batch_id, send_at, scheduled_for, first_attempt_at, last_attempt_at, updated_at
        )
        values (?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?, ?, ?)
        on conflict (send_key) do update set
            trigger_type = excluded.trigger_type,
            locale = excluded.locale,
            to_email_hash = excluded.to_email_hash,
            backend = excluded.backend,
            status = 'pending',
            attempts = ledger.attempts + 1,
            batch_id = excluded.batch_id,
            send_at = excluded.send_at,
            scheduled_for = excluded.scheduled_for,
            first_attempt_at = coalesce(ledger.first_attempt_at, excluded.first_attempt_at),
            last_attempt_at = excluded.last_attempt_at,
            failure_kind = null,
            error = null,
            updated_at = excluded.updated_at
        where ledger.status <> 'accepted'
        """,
        [
            email.send_key,
            email.trigger_type,
            email.locale,
            email_hash(email.to_email),
            attempt.backend,
            attempt.batch_id,
            attempt.send_at,
            attempt.scheduled_for,
            now,
            now,
            now,
        ],
    ).fetchone()[0]  # rows written
    if not written:
        raise LedgerConflict(f"send_key {email.send_key!r} is already accepted")


def record_accepted(
    con: duckdb.DuckDBPyConnection,
    send_key: str,
    attempt: Attempt,
    provider_message_id: str | None,
    now: datetime,
) -> None:
    """After the provider took the attempt recorded as pending."""
    written = con.execute(
        f"""
        update {LEDGER_TABLE}
        set status = 'accepted', accepted_at = ?, provider_message_id = ?,
            failure_kind = null, error = null, updated_at = ?
        where send_key = ? and status = 'pending' and batch_id is not distinct from ?
        """,
        [now, provider_message_id, now, send_key, attempt.batch_id],
    ).fetchone()[0]  # rows written
    if not written:
        raise LedgerConflict(f"send_key {send_key!r} has no pending row for this attempt")


def record_failed(
    con: duckdb.DuckDBPyConnection,
    email: RenderedEmail,
    backend: str,
    kind: FailureKind,
    error: str,
    now: datetime,
) -> None:
    """A final outcome of this run other than accepted (the row may not exist yet)."""
    written = con.execute(
        f"""
        insert into {LEDGER_TABLE} as ledger (
            send_key, trigger_type, locale, to_email_hash, backend, status, attempts,
            failure_kind, error, updated_at
        )
        values (?, ?, ?, ?, ?, 'failed', 0, ?, ?, ?)
        on conflict (send_key) do update set
            status = 'failed',
            failure_kind = excluded.failure_kind,
            error = excluded.error,
            updated_at = excluded.updated_at
        where ledger.status <> 'accepted'
        """,
        [
            email.send_key,
            email.trigger_type,
            email.locale,
            email_hash(email.to_email),
            backend,
            kind,
            error,
            now,
        ],
    ).fetchone()[0]  # rows written
    if not written:
        raise LedgerConflict(f"send_key {email.send_key!r} is already accepted")


def record_error(con: duckdb.DuckDBPyConnection, send_key: str, error: str, now: datetime) -> None:
    """The reason a pending row is still pending (its attempt is in doubt or being retried)."""
    con.execute(
        f"update {LEDGER_TABLE} set error = ?, updated_at = ? "
        "where send_key = ? and status = 'pending'",
        [error, now, send_key],
    )
