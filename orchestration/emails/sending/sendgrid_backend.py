"""The SendGrid backend: v3 `mail/send` in scheduled batches that can be cancelled.

SendGrid has no idempotency key, so a request that gets no answer (time-out, dropped
connection, 5xx) may or may not have been taken. Every message is therefore scheduled: it
carries a `send_at` at least `delivery_delay` in the future (the first instant from then on
inside the reader's delivery window, so a message sent after the window waits at SendGrid for
the next local morning) and the `batch_id` of its unit: up to `batch_size` messages sent
together, one batch id (`POST /v3/mail/batch`) for all of them. Until `cancel_cutoff` before
the batch's earliest `send_at` the batch can be cancelled (`POST /v3/user/scheduled_sends`),
which withdraws every message in it: the sender decides when that is worth it
(docs/sending.md). SendGrid refuses to cancel later than 10 minutes before `send_at`; the
default cut-off adds a minute for clock skew. A `send_at` further ahead than SendGrid
schedules (72 hours, less a margin for clock skew) is not attempted: a later run sends it.

`batches` says what to do when the service has no batch endpoints (HTTP 404, e.g. the
janjaali/sendGrid-mock used for local development): `required` (the default) refuses to send,
once, naming the setting; `optional` says so once and sends without batches (an attempt in
doubt is then settled only by the provider's events); `off` never asks for batches.

In sandbox mode SendGrid validates the request and delivers nothing, so attempts are not
batched and an attempt in doubt is simply made again.

The payloads are built with the `sendgrid` library's `Mail` helper. The requests go through
one `urllib3` connection pool shared by the worker threads, with keep-alive: the library's own
HTTP client (`python_http_client`, on `urllib`) opens a new connection for every request, which
at hundreds of messages a second costs more than the request itself. The API key sits in the
pool's default headers only; it is registered with `redaction`, so that it is scrubbed from
any error text and log line.
"""

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import urllib3
from pydantic import SecretStr
from sendgrid import __version__ as sendgrid_version
from sendgrid.helpers.mail import (
    Asm,
    BatchId,
    Category,
    ClickTracking,
    CustomArg,
    From,
    GroupId,
    Header,
    HtmlContent,
    Mail,
    MailSettings,
    PlainTextContent,
    ReplyTo,
    SandBoxMode,
    SendAt,
    Subject,
    To,
    TrackingSettings,
)
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NameResolutionError

from orchestration.emails.delivery import DeliverySlot
from orchestration.emails.groups import email_group
from orchestration.emails.message import RenderedEmail
from orchestration.emails.sending.backend import (
    Attempt,
    AttemptUnavailable,
    DeliveryTooFarAhead,
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
from orchestration.emails.sending.redaction import (
    install_log_scrubbing,
    register_secret,
    scrub,
)
from orchestration.emails.sending.retry import RateGate, RetryPolicy

logger = logging.getLogger(__name__)

SENDGRID_API_HOST = "https://api.sendgrid.com"
# SendGrid schedules at most 72 hours ahead. A send_at is never set further ahead than
# SCHEDULE_HORIZON: SendGrid measures from its own clock, and a send_at it refuses (400) would
# fail the message for good.
_MAX_SCHEDULE_AHEAD = timedelta(hours=72)
SCHEDULE_HORIZON = _MAX_SCHEDULE_AHEAD - timedelta(minutes=10)
_MAX_REASON_CHARS = 500
# However far away a 429's reset time is, the workers are held back at most this long at once.
_MAX_GATE_HOLD = 300.0
# The send_at of a message due "as soon as possible" is rounded up to the minute, so the
# messages of a unit share it (and their batch one cancel deadline).
_SEND_AT_STEP = 60

BatchMode = Literal["required", "optional", "off"]
BATCHES_SETTING = "SENDGRID_BATCHES"


@dataclass(frozen=True)
class _Reply:
    """What came back from one request; `status` is None when no answer came back."""

    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    # False only when the request provably never reached the server (connect failed).
    reached_server: bool = True
    transport_error: str | None = None

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def credentials_refused(self) -> bool:
        return self.status in (401, 403)

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, ValueError):
            return None

    def reset_at(self) -> float | None:
        """`X-RateLimit-Reset` (epoch seconds) of a 429, if present."""
        try:
            return float(self.headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return None

    def reason(self) -> str:
        """Status and SendGrid's error messages, scrubbed and bounded."""
        if self.status is None:
            text = f"no response: {self.transport_error}"
        else:
            messages = []
            body = self.json()
            errors = body.get("errors") if isinstance(body, dict) else None
            for error in errors if isinstance(errors, list) else []:
                if isinstance(error, dict) and error.get("message"):
                    where = f"{error['field']}: " if error.get("field") else ""
                    messages.append(f"{where}{error['message']}")
            text = f"HTTP {self.status}" + (f": {'; '.join(messages)}" if messages else "")
        return scrub(text)[:_MAX_REASON_CHARS]


class SendGridBackend:
    """Sends through SendGrid's v3 API; see the module docstring."""

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        host: str = SENDGRID_API_HOST,
        sandbox: bool = False,
        batches: BatchMode = "required",
        asm_group_id: int | None = None,
        asm_group_ids: Mapping[str, int] | None = None,
        from_email: str = "reports@flywheel.example.com",
        from_name: str = "Flywheel",
        reply_to: str | None = None,
        delivery_delay: timedelta = timedelta(minutes=30),
        cancel_cutoff: timedelta = timedelta(minutes=11),
        request_timeout: float = 30.0,
        connections: int = 16,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key:
            raise ValueError("SendGrid needs an API key (SENDGRID_API_KEY)")
        if not sandbox and not cancel_cutoff < delivery_delay <= SCHEDULE_HORIZON:
            raise ValueError(
                "delivery_delay must be longer than cancel_cutoff (else an attempt in doubt "
                "could never be cancelled) and within SendGrid's 72 hours"
            )
        if batches not in ("required", "optional", "off"):
            raise ValueError(f"{BATCHES_SETTING} must be required, optional or off")
        register_secret(key)
        install_log_scrubbing()
        self.host = host.rstrip("/")
        self.sandbox = sandbox
        self.batches = batches
        self.asm_group_id = asm_group_id
        # e-mail group (seed trigger_priorities.email_group) -> SendGrid unsubscribe group
        self.asm_group_ids = dict(asm_group_ids or {})
        self.from_email = checked_address(from_email)
        self.from_name = single_line(from_name)
        self.reply_to = checked_address(reply_to) if reply_to else None
        self.delivery_delay = delivery_delay
        self.cancel_cutoff = cancel_cutoff
        self.request_timeout = request_timeout
        self.clock = clock  # naive UTC now (tests run the backend at a chosen instant)
        self._gate = RateGate()
        self._batches_missing = batches == "off"
        self._missing_lock = threading.Lock()
        # One pool for every worker thread: kept-alive connections, at most `connections`.
        self._base_path = (urllib3.util.parse_url(self.host).path or "").rstrip("/")
        self._pool = urllib3.connection_from_url(
            self.host,
            maxsize=connections,
            block=True,
            retries=False,
            timeout=urllib3.Timeout(connect=min(10.0, request_timeout), read=request_timeout),
            headers={
                "Authorization": f"Bearer {key}",
                "User-Agent": f"sendgrid/{sendgrid_version};python (flywheel)",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )

    def __repr__(self) -> str:
        return f"SendGridBackend(host={self.host!r}, sandbox={self.sandbox})"

    @property
    def name(self) -> str:
        return "sendgrid_sandbox" if self.sandbox else "sendgrid"

    @property
    def cancels_batches(self) -> bool:
        return not self.sandbox and not self._batches_missing

    # --- the SendBackend protocol -------------------------------------------------------

    def plan(self, delivery: DeliverySlot | None = None) -> Attempt:
        """The send_at: the first instant of the delivery window at least `delivery_delay`
        from now (sandbox: only recorded). Raises `DeliveryTooFarAhead`, before any request,
        when that is beyond SCHEDULE_HORIZON."""
        send_at = self._send_at(delivery)
        if self.sandbox:
            return Attempt(backend=self.name, scheduled_for=send_at)
        return Attempt(backend=self.name, send_at=send_at, scheduled_for=send_at)

    def open_batch(self, retry: RetryPolicy) -> str | None:
        """A new batch id for a unit of messages; None in sandbox mode or without batches."""
        if self.sandbox or self._batches_missing:
            return None
        reply = self._with_retries(retry, "POST", "/v3/mail/batch")
        body = reply.json()
        if reply.status in (200, 201) and isinstance(body, dict) and body.get("batch_id"):
            return str(body["batch_id"])
        if reply.status == 404:
            return self._without_batches(reply)
        raise AttemptUnavailable(
            f"could not create a batch id: {reply.reason()}",
            abort_run=reply.credentials_refused,
        )

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        """One `POST /v3/mail/send`, classified; never retried here."""
        try:
            payload = self.payload(email, attempt)
        except InvalidMessage as exc:
            return SendResult(SendStatus.REJECTED, reason=scrub(str(exc)))
        self._gate.wait()
        if attempt.batch_id is not None and not self._cancellable(attempt.send_at):
            # The attempt waited too long (rate limit) to still be cancellable if it goes
            # wrong: it is not made; a fresh attempt gets a fresh send_at.
            # Not a failing provider: counted as a rate limit.
            return SendResult(
                SendStatus.RETRY, reason="attempt expired before it was made", rate_limited=True
            )
        reply = self._request("POST", "/v3/mail/send", payload)
        if reply.status in (200, 202):
            return SendResult(
                SendStatus.ACCEPTED, provider_message_id=reply.headers.get("x-message-id")
            )
        if reply.status == 429:
            return SendResult(
                SendStatus.RETRY,
                reason=reply.reason(),
                retry_at=reply.reset_at(),
                rate_limited=True,
            )
        if reply.credentials_refused:
            return SendResult(SendStatus.REFUSED_CREDENTIALS, reason=reply.reason())
        if reply.status is not None and reply.status < 500:
            return SendResult(SendStatus.REJECTED, reason=reply.reason())
        if not reply.reached_server or self.sandbox:
            # Never arrived, or arrived in sandbox mode where nothing is delivered.
            return SendResult(SendStatus.RETRY, reason=reply.reason())
        # A 5xx (possibly from a proxy in front of the mail service), a time-out or a dropped
        # connection: the provider may have taken the message.
        return SendResult(SendStatus.IN_DOUBT, reason=reply.reason())

    def cancel_batch(
        self, batch_id: str, first_send_at: datetime, retry: RetryPolicy
    ) -> Withdrawal:
        """Cancel the batch, if it is still before its cancel window closes."""
        last_reason = "not tried"
        for number in range(1, retry.max_attempts + 1):
            status, reply = self._batch_status(batch_id)
            if status == "cancel":
                return Withdrawal(WithdrawStatus.CANCELLED)
            if not self._cancellable(first_send_at):
                return Withdrawal(WithdrawStatus.TOO_LATE, "past the batch's cancel window")
            if reply.credentials_refused:
                return Withdrawal(WithdrawStatus.UNDETERMINED, f"cancel: {reply.reason()}")
            if not reply.retryable:  # 200 without a status, or 404: nothing set yet
                # No status yet: set one; paused (by someone): turn it into a cancellation.
                if status is None:
                    body = {"batch_id": batch_id, "status": "cancel"}
                    reply = self._request("POST", "/v3/user/scheduled_sends", body)
                else:
                    path = f"/v3/user/scheduled_sends/{batch_id}"
                    reply = self._request("PATCH", path, {"status": "cancel"})
                if reply.status in (200, 201, 204):
                    return Withdrawal(WithdrawStatus.CANCELLED)
                if not reply.retryable:
                    # Refused (e.g. too many cancelled batches). Check: a cancel that was
                    # taken by an earlier, unanswered request shows up as the status.
                    status, _ = self._batch_status(batch_id)
                    if status == "cancel":
                        return Withdrawal(WithdrawStatus.CANCELLED)
                    if not self._cancellable(first_send_at):
                        return Withdrawal(WithdrawStatus.TOO_LATE, reply.reason())
                    return Withdrawal(WithdrawStatus.REFUSED, f"cancel refused: {reply.reason()}")
            last_reason = reply.reason()
            if number < retry.max_attempts:
                self._pause(retry, number, reply)
        return Withdrawal(WithdrawStatus.UNDETERMINED, f"cancel not confirmed: {last_reason}")

    # --- the request payload ------------------------------------------------------------

    def payload(self, email: RenderedEmail, attempt: Attempt) -> dict[str, Any]:
        """The v3 `mail/send` body, built with the library's `Mail` helper."""
        mail = Mail(
            from_email=From(self.from_email, self.from_name or None),
            to_emails=To(checked_address(email.to_email), single_line(email.to_name or "") or None),
            subject=Subject(single_line(email.subject)),
            plain_text_content=PlainTextContent(email.text),
            html_content=HtmlContent(email.html),
        )
        mail.custom_arg = CustomArg("send_key", email.send_key)
        mail.custom_arg = CustomArg("variant_id", single_line(email.variant_id))
        mail.category = Category(single_line(email.trigger_type))
        for name, value in checked_headers(email.headers).items():
            mail.header = Header(name, value)
        if self.reply_to:
            mail.reply_to = ReplyTo(self.reply_to)
        group_id = self.asm_group_ids.get(email_group(email.trigger_type) or "", self.asm_group_id)
        if group_id is not None:
            mail.asm = Asm(GroupId(group_id))
        if self.sandbox:
            mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
        mail.tracking_settings = TrackingSettings(click_tracking=ClickTracking(enable=True))
        if attempt.send_at is not None:
            mail.send_at = SendAt(_epoch(attempt.send_at))
            if attempt.batch_id is not None:
                mail.batch_id = BatchId(attempt.batch_id)
        return mail.get()

    # --- HTTP -----------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> _Reply:
        """One request. Transport errors become a `_Reply` (scrubbed text, never the
        request's headers)."""
        self._gate.wait()
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        try:
            response = self._pool.urlopen(method, self._base_path + path, body=data)
            reply = _Reply(response.status, response.data or b"", _headers(response.headers))
        except (ConnectTimeoutError, NameResolutionError) as exc:
            # Connecting failed (NewConnectionError is a ConnectTimeoutError): the request
            # never left, so the provider cannot have acted on it.
            reply = _Reply(None, reached_server=False, transport_error=_describe(exc))
        except HTTPError as exc:
            # Failed while sending or waiting for the answer: the request may have arrived.
            reply = _Reply(None, transport_error=_describe(exc))
        if reply.status == 429:
            reset = reply.reset_at()
            if reset is not None:
                self._gate.hold_until(min(reset, time.time() + _MAX_GATE_HOLD))
        return reply

    def _with_retries(self, retry: RetryPolicy, method: str, path: str) -> _Reply:
        """A call that is safe to repeat (creating a batch id), retried while retryable."""
        for number in range(1, retry.max_attempts + 1):
            reply = self._request(method, path)
            if not reply.retryable or number == retry.max_attempts:
                return reply
            self._pause(retry, number, reply)
        raise AssertionError("unreachable")

    def _without_batches(self, reply: _Reply) -> None:
        """The service has no batch endpoints: refuse (`required`), or say so once and go
        on without batches (`optional`)."""
        what = f"{self.host} has no scheduled-send batches (POST /v3/mail/batch: {reply.reason()})"
        if self.batches == "required":
            raise AttemptUnavailable(
                f"{what}. Nothing was sent. Point SENDGRID_API_HOST at SendGrid, or set "
                f"{BATCHES_SETTING}=optional to send without batches: an attempt in doubt is "
                "then settled only by the provider's events (docs/sending.md)",
                abort_run=True,
            )
        with self._missing_lock:
            if not self._batches_missing:
                self._batches_missing = True
                logger.warning(
                    "send: %s; sending without batches (%s=optional): an attempt in doubt is "
                    "settled only by the provider's events (docs/sending.md)",
                    what,
                    BATCHES_SETTING,
                )
        return None

    def _batch_status(self, batch: str) -> tuple[str | None, _Reply]:
        """The batch's scheduled-send status (`cancel`, `pause` or None) and the reply."""
        reply = self._request("GET", f"/v3/user/scheduled_sends/{batch}")
        body = reply.json()
        if reply.status == 200 and isinstance(body, list):
            for entry in body:
                if isinstance(entry, dict) and entry.get("batch_id") == batch:
                    return entry.get("status"), reply
        return None, reply

    def _pause(self, retry: RetryPolicy, number: int, reply: _Reply) -> None:
        reset = reply.reset_at() if reply.status == 429 else None
        time.sleep(retry.until_reset(reset) if reset is not None else retry.backoff(number))

    def _cancellable(self, send_at: datetime | None) -> bool:
        return send_at is not None and self.clock() < send_at - self.cancel_cutoff

    def _send_at(self, delivery: DeliverySlot | None) -> datetime:
        """The first instant of the delivery window at least `delivery_delay` from now, in
        whole seconds (SendGrid takes epoch seconds: rounded up, never earlier); "as soon as
        possible" is rounded up to the minute."""
        now = self.clock()
        earliest = _ceil(now + self.delivery_delay, _SEND_AT_STEP)
        send_at = delivery.delivery_time(earliest) if delivery is not None else earliest
        send_at = _ceil(send_at, 1)
        if send_at > now + SCHEDULE_HORIZON:
            raise DeliveryTooFarAhead(send_at)
        return send_at


def _ceil(moment: datetime, seconds: int) -> datetime:
    """`moment` rounded up to a multiple of `seconds` since the epoch."""
    epoch = datetime(1970, 1, 1)
    whole = math.ceil((moment - epoch).total_seconds() / seconds) * seconds
    return epoch + timedelta(seconds=whole)


def _epoch(moment: datetime) -> int:
    """Naive UTC datetime → whole epoch seconds (rounded up)."""
    return math.ceil((moment - datetime(1970, 1, 1)).total_seconds())


def _headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    try:
        return {str(name).lower(): str(value) for name, value in headers.items()}
    except AttributeError:
        return {}


def _describe(error: object) -> str:
    """A transport error as text: its type and message, scrubbed."""
    if isinstance(error, BaseException):
        return scrub(f"{type(error).__name__}: {error}")
    return scrub(str(error))
