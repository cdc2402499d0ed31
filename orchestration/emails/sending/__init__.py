"""Sending rendered e-mails exactly once: backends, the send ledger and the sender.

    from orchestration.emails.sending import send_emails

    with warehouse.connect() as con:
        report = send_emails(con, emails, email_backend.backend())

See docs/sending.md for the guarantee and what happens at each crash point.
"""

from orchestration.emails.sending.backend import (
    Attempt,
    SendBackend,
    SendResult,
    SendStatus,
    Withdrawal,
    WithdrawStatus,
)
from orchestration.emails.sending.events import EventLog, ProviderEvent, WarehouseEvents
from orchestration.emails.sending.ledger import (
    BATCHES_TABLE,
    LEDGER_DDL,
    LEDGER_TABLE,
    LedgerRow,
    email_hash,
    ensure_send_ledger,
    fetch_rows,
)
from orchestration.emails.sending.outbox import OutboxBackend
from orchestration.emails.sending.resource import EmailBackend, backend_from_settings
from orchestration.emails.sending.retry import RetryPolicy
from orchestration.emails.sending.sender import (
    MessageOutcome,
    SendingAborted,
    SendingPolicy,
    SendReport,
    send_emails,
)
from orchestration.emails.sending.sendgrid_backend import SendGridBackend

__all__ = [
    "BATCHES_TABLE",
    "LEDGER_DDL",
    "LEDGER_TABLE",
    "Attempt",
    "EmailBackend",
    "EventLog",
    "LedgerRow",
    "MessageOutcome",
    "OutboxBackend",
    "ProviderEvent",
    "RetryPolicy",
    "SendBackend",
    "SendGridBackend",
    "SendReport",
    "SendResult",
    "SendStatus",
    "SendingAborted",
    "SendingPolicy",
    "WithdrawStatus",
    "WarehouseEvents",
    "Withdrawal",
    "backend_from_settings",
    "email_hash",
    "ensure_send_ledger",
    "fetch_rows",
    "send_emails",
]
