"""The outbox backend: each message as a `.eml` file (full MIME) and its `.html` body.

Used by default and in development: nothing leaves the machine. A message's files are named
after its send_key, and the `.eml` is written last, to a temporary name and then moved into
place with `os.replace`, so it either exists whole or not at all. An existing `.eml` means the
message was already handed over: it is never written twice.

The outbox holds nothing back: the time the reader's delivery window asks for is written into
the message as `X-Flywheel-Send-At` (ISO 8601, UTC), for whatever relays the files to honour,
and into the ledger's `scheduled_for`.
"""

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path

from orchestration.emails.delivery import DeliverySlot
from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending.backend import (
    Attempt,
    SendResult,
    SendStatus,
    Withdrawal,
    WithdrawStatus,
)
from orchestration.emails.sending.headers import (
    InvalidMessage,
    checked_address,
    checked_headers,
    single_line,
)
from orchestration.emails.sending.ledger import utc_now
from orchestration.emails.sending.retry import RetryPolicy

SEND_AT_HEADER = "X-Flywheel-Send-At"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Headers set with `set_raw` are written as they are; the others are folded (and non-ASCII
# ones RFC 2047-encoded) as usual.
_OUTPUT_POLICY = SMTP.clone(refold_source="none")
# RFC 5322's limit for a header line, CRLF excluded.
_MAX_LINE = 998


def outbox_stem(send_key: str) -> str:
    """A file name for a send_key: readable, safe on every file system, and unique."""
    readable = _UNSAFE.sub("_", send_key).strip("._")[:80] or "message"
    digest = hashlib.sha256(send_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}"


class OutboxBackend:
    """Writes `<stem>.eml` and `<stem>.html` into `outbox_dir`."""

    name = "outbox"
    cancel_cutoff = timedelta(0)  # nothing is scheduled at a provider

    def __init__(
        self,
        outbox_dir: Path | str,
        *,
        from_email: str = "reports@flywheel.example.com",
        from_name: str = "Flywheel",
        reply_to: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.clock = clock  # naive UTC now
        self.from_email = checked_address(from_email)
        self.from_name = single_line(from_name)
        self.reply_to = checked_address(reply_to) if reply_to else None

    def __repr__(self) -> str:
        return f"OutboxBackend({str(self.outbox_dir)!r})"

    def eml_path(self, send_key: str) -> Path:
        return self.outbox_dir / f"{outbox_stem(send_key)}.eml"

    @property
    def cancels_batches(self) -> bool:
        return False

    def plan(self, delivery: DeliverySlot | None = None) -> Attempt:
        """Scheduled for the first instant of the delivery window from now (no limit ahead)."""
        now = self.clock().replace(microsecond=0)
        scheduled_for = delivery.delivery_time(now) if delivery is not None else now
        return Attempt(backend=self.name, scheduled_for=scheduled_for)

    def open_batch(self, retry: RetryPolicy) -> None:
        """Files are not batched."""
        return None

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        eml = self.eml_path(email.send_key)
        if eml.exists():
            return SendResult(SendStatus.ACCEPTED, provider_message_id=eml.name)
        try:
            message = self.mime_message(email, attempt.scheduled_for)
        except InvalidMessage as exc:
            return SendResult(SendStatus.REJECTED, reason=str(exc))
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            _write_atomically(eml.with_suffix(".html"), email.html.encode("utf-8"))
            _write_atomically(eml, message.as_bytes(policy=_OUTPUT_POLICY))
        except OSError as exc:
            # Nothing half-written is visible: the next attempt starts over.
            return SendResult(SendStatus.RETRY, reason=f"outbox write failed: {exc.strerror}")
        return SendResult(SendStatus.ACCEPTED, provider_message_id=eml.name)

    def cancel_batch(
        self, batch_id: str, first_send_at: datetime, retry: RetryPolicy
    ) -> Withdrawal:
        # A SendGrid batch of an earlier run: only the SendGrid backend can cancel it.
        return Withdrawal(
            WithdrawStatus.UNDETERMINED,
            "a SendGrid batch is cancelled only by the sendgrid backend",
        )

    def mime_message(self, email: RenderedEmail, send_at: datetime | None = None) -> EmailMessage:
        """The message as multipart/alternative (text, then HTML) with one-line headers;
        `send_at` (naive UTC), when given, is the `X-Flywheel-Send-At` header."""
        to_email = checked_address(email.to_email)
        extra_headers = checked_headers(email.headers)
        message = EmailMessage()
        message["From"] = Address(self.from_name, addr_spec=self.from_email)
        message["To"] = Address(single_line(email.to_name or ""), addr_spec=to_email)
        message["Subject"] = single_line(email.subject)
        message["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(email.send_key.encode("utf-8")).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{self.from_email.rsplit('@', 1)[1]}>"
        message["X-Flywheel-Send-Key"] = single_line(email.send_key)
        message["X-Flywheel-Trigger"] = single_line(email.trigger_type)
        message["X-Flywheel-Variant"] = single_line(email.variant_id)
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        if send_at is not None:
            message[SEND_AT_HEADER] = f"{send_at:%Y-%m-%dT%H:%M:%S}Z"
        for name, value in extra_headers.items():
            if value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE:
                # As it is: folding would RFC 2047-encode a long URL (`=?utf-8?q?=3Chttps...`),
                # and mail providers then ignore List-Unsubscribe and one-click unsubscribe.
                message.set_raw(name, value)
            else:
                message[name] = value
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
