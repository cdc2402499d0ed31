"""The send ledger: one row per `send_key`, written before and after every provider call, and
the cancelled batches.

The tables live in the warehouse (`email.send_ledger`, `email.send_batches`) so that dbt reads
the ledger as a source and an operator can query both. They hold what the sender knows and
nothing personal: the recipient's address only as an MD5 hash (of the trimmed, lower-cased
address), never the API key.

Every function here runs on the thread that owns the warehouse connection (DuckDB or
PostgreSQL: the same SQL on both). The writes of a unit
of messages are one statement each (a whole unit `pending` before its requests, then every
answer), so a crash never loses a write that was made before the provider calls it guards.
Functions that write several statements take a transaction of their own.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending.backend import Attempt
from orchestration.warehouse import WarehouseConnection, dialect

LEDGER_TABLE = "email.send_ledger"
BATCHES_TABLE = "email.send_batches"

# pending: the attempt is written, its answer is not (being made, or interrupted by a crash);
# accepted: the provider took it; in_doubt: the attempt may have been taken, no answer says
# so (parked: settled later by a cancel or by the provider's events); failed: see FailureKind.
LedgerStatus = Literal["pending", "accepted", "in_doubt", "failed"]
# rejected: the provider refused the message (final); transient: nothing is in flight (retries
# ran out, or the attempt was withdrawn: its batch cancelled, or no provider event by its
# send_at): a run that has it due sends it; unresolved: an attempt may have been delivered
# and neither a cancel nor the provider's events can tell (final: an operator checks).
FailureKind = Literal["rejected", "transient", "unresolved"]
# A cancel the sender asked for: cancelling (asked, answer not recorded: a crash or no
# answer), cancelled (confirmed: none of the batch's messages delivers), kept (too late to
# cancel: its messages deliver if they were taken), refused (the provider said no, e.g. 10
# batches already cancelled).
BatchStatus = Literal["cancelling", "cancelled", "kept", "refused"]

LEDGER_DDL = f"""
create table if not exists {LEDGER_TABLE} (
    send_key varchar primary key,
    trigger_type varchar not null,
    locale varchar not null,
    to_email_hash varchar not null,
    backend varchar not null,
    status varchar not null check (status in ('pending', 'accepted', 'in_doubt', 'failed')),
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
    updated_at timestamp not null,
    variant_id varchar
)
"""

BATCHES_DDL = f"""
create table if not exists {BATCHES_TABLE} (
    batch_id varchar primary key,
    backend varchar not null,
    status varchar not null check (status in ('cancelling', 'cancelled', 'kept', 'refused')),
    first_send_at timestamp,
    last_send_at timestamp,
    messages integer not null,
    requested_at timestamp not null,
    updated_at timestamp not null,
    reason varchar
)
"""

_COLUMNS = (
    "send_key, trigger_type, locale, to_email_hash, backend, status, attempts, batch_id, "
    "send_at, first_attempt_at, last_attempt_at, accepted_at, provider_message_id, "
    "failure_kind, error, updated_at, scheduled_for, variant_id"
)
# The table's columns in DDL order, for rebuilding an older ledger.
_DDL_ORDER = (
    "send_key, trigger_type, locale, to_email_hash, backend, status, attempts, batch_id, "
    "send_at, scheduled_for, first_attempt_at, last_attempt_at, accepted_at, "
    "provider_message_id, failure_kind, error, updated_at, variant_id"
)

# The ledger's columns that are not text, with their types (record_history).
_HISTORY_TYPES = {
    "attempts": "integer",
    **dict.fromkeys(
        (
            "send_at",
            "scheduled_for",
            "first_attempt_at",
            "last_attempt_at",
            "accepted_at",
            "updated_at",
        ),
        "timestamp",
    ),
}


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
    variant_id: str | None = None  # the e-mail's variant (seed email_variants); null before them

    @property
    def attempt(self) -> Attempt:
        """The last attempt recorded for this row."""
        return Attempt(
            backend=self.backend,
            batch_id=self.batch_id,
            send_at=self.send_at,
            scheduled_for=self.scheduled_for,
        )

    @property
    def in_doubt(self) -> bool:
        """Its last attempt may have been taken and nothing says whether it was."""
        return self.status in ("pending", "in_doubt")


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to, for the ledger."""

    send_key: str
    batch_id: str | None
    status: Literal["accepted", "in_doubt", "failed"]
    failure_kind: FailureKind | None = None
    provider_message_id: str | None = None
    error: str | None = None
    made: bool = True  # False: the request was never made (the attempt is not counted)


@dataclass(frozen=True)
class BatchRow:
    batch_id: str
    backend: str
    status: BatchStatus
    first_send_at: datetime | None
    last_send_at: datetime | None
    messages: int
    requested_at: datetime
    updated_at: datetime
    reason: str | None


class LedgerConflict(RuntimeError):
    """A write found the row in a state the sender did not expect (never overwrite a send)."""


def ensure_send_ledger(con: WarehouseConnection) -> None:
    """Create the `email` schema, the send ledger and the batch table if they do not exist,
    and bring a ledger an earlier version created up to date: the columns added since (null
    in existing rows: their time was not recorded) and the `in_doubt` status."""
    con.execute("create schema if not exists email")
    con.execute(LEDGER_DDL)
    con.execute(f"alter table {LEDGER_TABLE} add column if not exists scheduled_for timestamp")
    con.execute(f"alter table {LEDGER_TABLE} add column if not exists variant_id varchar")
    _allow_in_doubt(con)
    con.execute(BATCHES_DDL)


def _allow_in_doubt(con: WarehouseConnection) -> None:
    """A ledger from before the `in_doubt` status has a check constraint without it. DuckDB
    cannot alter a constraint, so the table is rebuilt with its rows, in one transaction.
    (Every ledger on PostgreSQL was created with `in_doubt`.)"""
    if dialect(con) != "duckdb":
        return
    checks = con.execute(
        "select constraint_text from duckdb_constraints() where schema_name = 'email' "
        "and table_name = 'send_ledger' and constraint_type = 'CHECK'"
    ).fetchall()
    if not checks or any("in_doubt" in text for (text,) in checks):
        return
    con.execute("begin transaction")
    try:
        con.execute(f"alter table {LEDGER_TABLE} rename to send_ledger_before_in_doubt")
        con.execute(LEDGER_DDL)
        con.execute(
            f"insert into {LEDGER_TABLE} ({_DDL_ORDER}) "
            f"select {_DDL_ORDER} from email.send_ledger_before_in_doubt"
        )
        con.execute("drop table email.send_ledger_before_in_doubt")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def email_hash(address: str) -> str:
    """MD5 of the trimmed, lower-cased address: joinable, not readable."""
    return hashlib.md5(address.strip().lower().encode("utf-8")).hexdigest()


def utc_now() -> datetime:
    """Now as a naive UTC timestamp, the ledger's convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def fetch_rows(con: WarehouseConnection, send_keys: Iterable[str]) -> dict[str, LedgerRow]:
    keys = list(send_keys)
    if not keys:
        return {}
    rows = con.execute(
        f"select {_COLUMNS} from {LEDGER_TABLE} where send_key in (select unnest(?::varchar[]))",
        [keys],
    ).fetchall()
    return {row[0]: LedgerRow(*row) for row in rows}


def rows_in_doubt(con: WarehouseConnection) -> list[LedgerRow]:
    """Every row whose last attempt may have been taken (`pending` or `in_doubt`)."""
    rows = con.execute(
        f"select {_COLUMNS} from {LEDGER_TABLE} where status in ('pending', 'in_doubt') "
        "order by send_at nulls last, send_key"
    ).fetchall()
    return [LedgerRow(*row) for row in rows]


def batch_members(con: WarehouseConnection, batch_ids: Iterable[str]) -> dict[str, list[LedgerRow]]:
    """The rows whose last attempt is in each batch and could deliver (accepted, pending or
    in doubt): what a cancel of the batch withdraws."""
    ids = list(batch_ids)
    members: dict[str, list[LedgerRow]] = {batch: [] for batch in ids}
    if not ids:
        return members
    rows = con.execute(
        f"select {_COLUMNS} from {LEDGER_TABLE} "
        "where batch_id in (select unnest(?::varchar[])) "
        "and status in ('accepted', 'pending', 'in_doubt')",
        [ids],
    ).fetchall()
    for row in rows:
        ledger_row = LedgerRow(*row)
        members[ledger_row.batch_id].append(ledger_row)
    return members


def record_pending(
    con: WarehouseConnection, email: RenderedEmail, attempt: Attempt, now: datetime
) -> None:
    """Before a provider call: the attempt (batch id, send_at, scheduled_for) and attempts
    + 1."""
    if not record_pending_unit(con, [(email, attempt)], now):
        raise LedgerConflict(f"send_key {email.send_key!r} is already accepted")


def record_pending_unit(
    con: WarehouseConnection,
    attempts: Sequence[tuple[RenderedEmail, Attempt]],
    now: datetime,
) -> set[str]:
    """Before a unit's provider calls, in one statement: each attempt (batch id, send_at,
    scheduled_for) and attempts + 1. Returns the send_keys written: a row already accepted
    is never overwritten (and its message must not be sent)."""
    if not attempts:
        return set()
    emails = [email for email, _ in attempts]
    written = con.execute(
        f"""
        insert into {LEDGER_TABLE} as ledger (
            send_key, trigger_type, locale, to_email_hash, backend, status, attempts,
            batch_id, send_at, scheduled_for, first_attempt_at, last_attempt_at, updated_at,
            variant_id
        )
        select
            unnest($keys::varchar[]), unnest($types::varchar[]),
            unnest($locales::varchar[]), unnest($hashes::varchar[]),
            unnest($backends::varchar[]), 'pending', 1, unnest($batches::varchar[]),
            unnest($send_ats::timestamp[]), unnest($scheduled::timestamp[]), $now, $now, $now,
            unnest($variants::varchar[])
        on conflict (send_key) do update set
            trigger_type = excluded.trigger_type,
            locale = excluded.locale,
            variant_id = excluded.variant_id,
            to_email_hash = excluded.to_email_hash,
            backend = excluded.backend,
            status = 'pending',
            attempts = ledger.attempts + 1,
            batch_id = excluded.batch_id,
            send_at = excluded.send_at,
            scheduled_for = excluded.scheduled_for,
            first_attempt_at = coalesce(ledger.first_attempt_at, excluded.first_attempt_at),
            last_attempt_at = excluded.last_attempt_at,
            accepted_at = null,
            provider_message_id = null,
            failure_kind = null,
            error = null,
            updated_at = excluded.updated_at
        where ledger.status <> 'accepted'
        returning send_key
        """,
        {
            "keys": _text([e.send_key for e in emails]),
            "types": _text([e.trigger_type for e in emails]),
            "locales": _text([e.locale for e in emails]),
            "variants": _text([e.variant_id for e in emails]),
            "hashes": _text([email_hash(e.to_email) for e in emails]),
            "backends": _text([a.backend for _, a in attempts]),
            "batches": _text([a.batch_id for _, a in attempts]),
            "send_ats": _times([a.send_at for _, a in attempts]),
            "scheduled": _times([a.scheduled_for for _, a in attempts]),
            "now": now,
        },
    ).fetchall()
    return {key for (key,) in written}


def record_history(con: WarehouseConnection, rows: Sequence[LedgerRow]) -> int:
    """Rows of sends made elsewhere (the demo's simulated months: backend `demo`), as they
    are; a send_key the ledger has already is left alone. Returns the rows written."""
    if not rows:
        return 0
    columns = {name: [getattr(row, name) for row in rows] for name in _DDL_ORDER.split(", ")}
    values = ", ".join(
        f"unnest(${name}::{_HISTORY_TYPES.get(name, 'varchar')}[])" for name in columns
    )
    written = con.execute(
        f"""
        insert into {LEDGER_TABLE} ({_DDL_ORDER})
        select {values}
        on conflict (send_key) do nothing
        returning send_key
        """,
        columns,
    ).fetchall()
    return len(written)


def record_results(
    con: WarehouseConnection, results: Sequence[AttemptResult], now: datetime
) -> None:
    """After a unit's provider calls, in one statement: each pending attempt's answer."""
    if not results:
        return
    written = con.execute(
        f"""
        update {LEDGER_TABLE} as ledger set
            status = answer.status,
            attempts = ledger.attempts - case when answer.made then 0 else 1 end,
            failure_kind = answer.failure_kind,
            provider_message_id = answer.provider_message_id,
            accepted_at = case when answer.status = 'accepted' then $now end,
            error = answer.error,
            updated_at = $now
        from (
            select
                unnest($keys::varchar[]) as send_key, unnest($batches::varchar[]) as batch_id,
                unnest($statuses::varchar[]) as status, unnest($kinds::varchar[]) as failure_kind,
                unnest($ids::varchar[]) as provider_message_id,
                unnest($errors::varchar[]) as error, unnest($made::boolean[]) as made
        ) as answer
        where ledger.send_key = answer.send_key and ledger.status = 'pending'
            and ledger.batch_id is not distinct from answer.batch_id
        returning ledger.send_key
        """,
        {
            "keys": _text([r.send_key for r in results]),
            "batches": _text([r.batch_id for r in results]),
            "statuses": _text([r.status for r in results]),
            "kinds": _text([r.failure_kind for r in results]),
            "ids": _text([r.provider_message_id for r in results]),
            "errors": _text([r.error for r in results]),
            "made": [r.made for r in results],
            "now": now,
        },
    ).fetchall()
    if len(written) != len(results):
        raise LedgerConflict(f"{len(results) - len(written)} answer(s) found no pending attempt")


def record_not_sent(
    con: WarehouseConnection,
    emails: Sequence[RenderedEmail],
    backend: str,
    kind: FailureKind,
    error: str,
    now: datetime,
) -> None:
    """Messages this run ends without sending (no attempt in flight): `failed` with the
    reason; a row that does not exist yet is created with no attempts."""
    if not emails:
        return
    con.execute(
        f"""
        insert into {LEDGER_TABLE} as ledger (
            send_key, trigger_type, locale, to_email_hash, backend, status, attempts,
            failure_kind, error, updated_at, variant_id
        )
        select
            unnest($keys::varchar[]), unnest($types::varchar[]),
            unnest($locales::varchar[]), unnest($hashes::varchar[]), $backend,
            'failed', 0, $kind, $error, $now, unnest($variants::varchar[])
        on conflict (send_key) do update set
            status = 'failed',
            failure_kind = excluded.failure_kind,
            error = excluded.error,
            updated_at = excluded.updated_at
        where ledger.status = 'failed'
        """,
        {
            "keys": _text([e.send_key for e in emails]),
            "types": _text([e.trigger_type for e in emails]),
            "locales": _text([e.locale for e in emails]),
            "variants": _text([e.variant_id for e in emails]),
            "hashes": _text([email_hash(e.to_email) for e in emails]),
            "backend": backend,
            "kind": kind,
            "error": error,
            "now": now,
        },
    )


def settle_rows(
    con: WarehouseConnection,
    send_keys: Sequence[str],
    kind: FailureKind,
    reasons: Sequence[str],
    now: datetime,
) -> None:
    """Rows in doubt settled as not sent: `failed` of `kind`, each with its reason
    (transient: withdrawn, a run that has it due sends it again; unresolved: for an
    operator)."""
    if not send_keys:
        return
    con.execute(
        f"""
        update {LEDGER_TABLE} as ledger set
            status = 'failed', failure_kind = $kind, error = settled.error, updated_at = $now
        from (
            select unnest($keys::varchar[]) as send_key, unnest($errors::varchar[]) as error
        ) as settled
        where ledger.send_key = settled.send_key and ledger.status in ('pending', 'in_doubt')
        """,
        {"keys": _text(send_keys), "errors": _text(reasons), "kind": kind, "now": now},
    )


def record_doubt_reasons(con: WarehouseConnection, reasons: dict[str, str], now: datetime) -> None:
    """Why each row in doubt is still in doubt (e.g. its batch's cancel was refused)."""
    if not reasons:
        return
    con.execute(
        f"""
        update {LEDGER_TABLE} as ledger set error = noted.error, updated_at = $now
        from (
            select unnest($keys::varchar[]) as send_key, unnest($errors::varchar[]) as error
        ) as noted
        where ledger.send_key = noted.send_key and ledger.status in ('pending', 'in_doubt')
        """,
        {
            "keys": list(reasons),
            "errors": [reason[:1000] for reason in reasons.values()],
            "now": now,
        },
    )


def confirm_delivered(
    con: WarehouseConnection,
    confirmed: Sequence[tuple[str, datetime, str | None]],
    now: datetime,
) -> None:
    """Rows in doubt that the provider's events show were taken: (send_key, event time,
    sg_message_id) → `accepted`, with the provider's message id."""
    if not confirmed:
        return
    con.execute(
        f"""
        update {LEDGER_TABLE} as ledger set
            status = 'accepted', accepted_at = confirmed.event_at,
            provider_message_id = coalesce(
                split_part(confirmed.sg_message_id, '.', 1), ledger.provider_message_id
            ),
            failure_kind = null, error = null, updated_at = $now
        from (
            select unnest($keys::varchar[]) as send_key, unnest($times::timestamp[]) as event_at,
                unnest($ids::varchar[]) as sg_message_id
        ) as confirmed
        where ledger.send_key = confirmed.send_key and ledger.status in ('pending', 'in_doubt')
        """,
        {
            "keys": _text([key for key, _, _ in confirmed]),
            "times": _times([at for _, at, _ in confirmed]),
            "ids": _text([message_id for _, _, message_id in confirmed]),
            "now": now,
        },
    )


# --- cancelled batches --------------------------------------------------------------------


def fetch_batches(
    con: WarehouseConnection, statuses: Iterable[BatchStatus] | None = None
) -> dict[str, BatchRow]:
    query = (
        "select batch_id, backend, status, first_send_at, last_send_at, messages, "
        f"requested_at, updated_at, reason from {BATCHES_TABLE}"
    )
    params: list = []
    if statuses is not None:
        query += " where status in (select unnest(?::varchar[]))"
        params.append(list(statuses))
    return {row[0]: BatchRow(*row) for row in con.execute(query, params).fetchall()}


def cancel_slots_in_use(con: WarehouseConnection, now: datetime) -> int:
    """Batches this ledger cancelled (or asked to) that the provider still counts: until the
    last of their messages' send_at has passed."""
    return con.execute(
        f"select count(*) from {BATCHES_TABLE} where status in ('cancelling', 'cancelled') "
        "and (last_send_at is null or last_send_at > ?)",
        [now],
    ).fetchone()[0]


def record_cancel_requested(
    con: WarehouseConnection,
    batch_id: str,
    backend: str,
    members: Sequence[LedgerRow],
    now: datetime,
) -> None:
    """Before a cancel request: the batch is `cancelling`. Until the answer is recorded, its
    accepted messages count as in doubt (the cancel may have been carried out)."""
    send_ats = [row.send_at for row in members if row.send_at is not None]
    con.execute(
        f"""
        insert into {BATCHES_TABLE} as batches (
            batch_id, backend, status, first_send_at, last_send_at, messages, requested_at,
            updated_at
        )
        values (?, ?, 'cancelling', ?, ?, ?, ?, ?)
        on conflict (batch_id) do update set
            status = 'cancelling', first_send_at = excluded.first_send_at,
            last_send_at = excluded.last_send_at, messages = excluded.messages,
            requested_at = excluded.requested_at, updated_at = excluded.updated_at,
            reason = null
        """,
        [
            batch_id,
            backend,
            min(send_ats, default=None),
            max(send_ats, default=None),
            len(members),
            now,
            now,
        ],
    )


def record_cancel_answer(
    con: WarehouseConnection,
    batch_id: str,
    status: BatchStatus,
    reason: str | None,
    now: datetime,
) -> list[str]:
    """The provider's answer to a cancel. `cancelled`: in the same transaction, every message
    of the batch that could have delivered is withdrawn (`failed` / `transient`, to be sent
    again); returns their send_keys."""
    con.execute("begin transaction")
    try:
        con.execute(
            f"update {BATCHES_TABLE} set status = ?, reason = ?, updated_at = ? where batch_id = ?",
            [status, reason, now, batch_id],
        )
        withdrawn: list[str] = []
        if status == "cancelled":
            withdrawn = [
                key
                for (key,) in con.execute(
                    f"""
                    update {LEDGER_TABLE} set
                        status = 'failed', failure_kind = 'transient', accepted_at = null,
                        error = ?, updated_at = ?
                    where batch_id = ? and status in ('accepted', 'pending', 'in_doubt')
                    returning send_key
                    """,
                    [
                        f"withdrawn: batch {batch_id} was cancelled to settle an attempt in "
                        "doubt; a run that has it due sends it again",
                        now,
                        batch_id,
                    ],
                ).fetchall()
            ]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return withdrawn


def _text(values: Iterable[str | None]) -> list[str | None]:
    return list(values)


def _times(values: Iterable[datetime | None]) -> list[datetime | None]:
    return list(values)
