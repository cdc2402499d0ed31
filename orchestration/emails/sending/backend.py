"""What a sending backend does, and what it answers.

The sender (`sender.py`) owns the ledger, the retry loop and the resolution of attempts in
doubt; a backend only talks to its transport. Messages go out in units that share one
scheduled batch (SendGrid's `batch_id`): the sender asks the backend when each message should
arrive (`plan`: the first instant of its delivery window the backend can still make, SendGrid's
`send_at`), opens a batch for the unit (`open_batch`), writes the unit's attempts to the ledger
as `pending`, then makes each attempt (`send`). An attempt that may have been taken although no
answer came back is made harmless by cancelling its whole batch (`cancel_batch`) before the
message is sent again, or is settled later by the provider's events.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
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

    def in_batch(self, batch_id: str | None) -> "Attempt":
        return replace(self, batch_id=batch_id)


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
    rate_limited: bool = False  # a 429: the account's limit, not a failing provider


class WithdrawStatus(StrEnum):
    CANCELLED = "cancelled"  # the batch is cancelled: none of its messages will deliver
    TOO_LATE = "too_late"  # past the cancel window: its messages deliver if they were taken
    REFUSED = "refused"  # the provider refused the cancel (e.g. 10 batches already cancelled)
    UNDETERMINED = "undetermined"  # not confirmed (provider unreachable): check on a re-run


@dataclass(frozen=True)
class Withdrawal:
    status: WithdrawStatus
    reason: str | None = None


class AttemptUnavailable(Exception):
    """No attempt could be prepared (e.g. the batch id could not be created).

    `abort_run`: nothing else will succeed either (refused credentials, or a service without
    the batch endpoints that the settings require): the run stops, once, with `reason`.
    """

    def __init__(self, reason: str, *, abort_run: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.abort_run = abort_run


class DeliveryTooFarAhead(Exception):
    """The message's delivery window is further ahead than the provider can schedule: it is
    not sent now, and a later run sends it (docs/sending.md)."""

    def __init__(self, deliver_at: datetime) -> None:
        super().__init__(f"delivery at {deliver_at:%Y-%m-%d %H:%M} UTC is too far ahead")
        self.deliver_at = deliver_at


class SendBackend(Protocol):
    """A transport for `RenderedEmail`s. `send` is called from worker threads."""

    clock: Callable[[], datetime]  # naive UTC now
    # A batch can be cancelled until this long before its earliest send_at.
    cancel_cutoff: timedelta

    @property
    def name(self) -> str:
        """The ledger's `backend` value: `outbox`, `sendgrid` or `sendgrid_sandbox`."""
        ...

    @property
    def cancels_batches(self) -> bool:
        """Whether an attempt can be withdrawn by cancelling its batch."""
        ...

    def plan(self, delivery: DeliverySlot | None = None) -> Attempt:
        """An attempt (no batch yet) scheduled for the first instant of `delivery`'s window
        that the backend can still make (None: as soon as it can); raises
        `DeliveryTooFarAhead` when that instant is beyond what the provider schedules."""
        ...

    def open_batch(self, retry: RetryPolicy) -> str | None:
        """A new batch for a unit of attempts (None: this backend does not batch); raises
        `AttemptUnavailable`."""
        ...

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        """Make one attempt (one request, no retries)."""
        ...

    def cancel_batch(
        self, batch_id: str, first_send_at: datetime, retry: RetryPolicy
    ) -> Withdrawal:
        """Cancel a batch whose earliest message is due at `first_send_at`, so that none of
        its messages delivers."""
        ...
