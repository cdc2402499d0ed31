"""What a sending backend does, and what it answers.

The sender (`sender.py`) owns the ledger and the retry loop; a backend only talks to its
transport. Each send attempt is prepared first (`new_attempt`: the time it is scheduled for,
from the e-mail's delivery window, and for SendGrid a fresh batch id and that `send_at`),
written to the ledger as `pending`, then made (`send`). An attempt that may have been taken
although no answer came back is made harmless with `withdraw` before the message is sent
again.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from orchestration.emails.delivery import DeliverySlot
from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending.retry import RetryPolicy

# Backends whose "accepted" puts an e-mail in front of a person. A pending attempt recorded by
# any other backend (the outbox, SendGrid's sandbox) cannot have delivered anything.
DELIVERING_BACKENDS = frozenset({"sendgrid"})


@dataclass(frozen=True)
class Attempt:
    """One try at handing a message over, as recorded in the ledger before it is made."""

    backend: str
    batch_id: str | None = None
    send_at: datetime | None = None  # naive UTC; the provider delivers at this time
    # naive UTC; when the message should reach the reader (SendGrid: = send_at)
    scheduled_for: datetime | None = None


class SendStatus(StrEnum):
    ACCEPTED = "accepted"  # the provider took the message
    REJECTED = "rejected"  # the provider refused this message: final
    RETRY = "retry"  # not taken (429, connection refused): try again
    IN_DOUBT = "in_doubt"  # may have been taken (5xx, time-out, dropped connection)
    REFUSED_CREDENTIALS = "refused_credentials"  # 401/403: nothing else will succeed either


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    provider_message_id: str | None = None
    reason: str | None = None  # scrubbed: no key, no address
    retry_at: float | None = None  # epoch seconds, from X-RateLimit-Reset


class WithdrawStatus(StrEnum):
    NOTHING_IN_FLIGHT = "nothing_in_flight"  # the attempt cannot deliver anything
    CANCELLED = "cancelled"  # its batch is cancelled: it will not deliver
    TOO_LATE = "too_late"  # past the cancel window: it may deliver; never send again
    UNDETERMINED = "undetermined"  # not resolved now (provider unreachable): try on a re-run


@dataclass(frozen=True)
class Withdrawal:
    status: WithdrawStatus
    reason: str | None = None


class AttemptUnavailable(Exception):
    """No attempt could be prepared (e.g. the batch id could not be created)."""

    def __init__(self, reason: str, *, credentials_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.credentials_refused = credentials_refused


class DeliveryTooFarAhead(Exception):
    """The message's delivery window is further ahead than the provider can schedule: it is
    not sent now, and a later run sends it (docs/sending.md)."""

    def __init__(self, deliver_at: datetime) -> None:
        super().__init__(f"delivery at {deliver_at:%Y-%m-%d %H:%M} UTC is too far ahead")
        self.deliver_at = deliver_at


class SendBackend(Protocol):
    """A transport for `RenderedEmail`s. Methods are called from worker threads."""

    @property
    def name(self) -> str:
        """The ledger's `backend` value: `outbox`, `sendgrid` or `sendgrid_sandbox`."""
        ...

    def new_attempt(self, retry: RetryPolicy, delivery: DeliverySlot | None = None) -> Attempt:
        """Prepare an attempt scheduled for the first instant of `delivery`'s window that the
        backend can still make (None: as soon as it can); raises `AttemptUnavailable`, or
        `DeliveryTooFarAhead` when that instant is beyond what the provider schedules."""
        ...

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        """Make one attempt (one request, no retries)."""
        ...

    def withdraw(self, attempt: Attempt, retry: RetryPolicy) -> Withdrawal:
        """Make sure an attempt that may have been taken can no longer deliver."""
        ...
