"""The SendGrid backend: the official `sendgrid` client, scheduled batches, cancellable.

SendGrid has no idempotency key, so a request that gets no answer (time-out, dropped
connection, 5xx) may or may not have been taken. Every attempt is therefore scheduled: it gets
a fresh batch id (`POST /v3/mail/batch`) and a `send_at` at least `delivery_delay` in the
future: the first instant from then on inside the reader's delivery window, so a message sent
after the window waits at SendGrid for the next local morning. A `send_at` further ahead than
SendGrid schedules (72 hours, less a margin for clock skew) is not attempted: a later run
sends it. Until `cancel_cutoff` before `send_at` the batch can be cancelled
(`POST /v3/user/scheduled_sends`), which makes an attempt in doubt harmless: once its batch is
cancelled, sending again cannot produce a second e-mail. SendGrid refuses to cancel later than
10 minutes before `send_at`; the default cut-off adds a minute for clock skew.

In sandbox mode SendGrid validates the request and delivers nothing, so attempts are not
batched and an attempt in doubt is simply made again.

The API key is held by the client objects only; it is registered with `redaction` so that it
is scrubbed from the client's DEBUG logs and from any error text.
"""

import http.client
import json
import math
import threading
import time
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import SecretStr
from python_http_client.exceptions import HTTPError as ClientHTTPError
from sendgrid import SendGridAPIClient
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

SENDGRID_API_HOST = "https://api.sendgrid.com"
# SendGrid schedules at most 72 hours ahead. A send_at is never set further ahead than
# SCHEDULE_HORIZON: SendGrid measures from its own clock, and a send_at it refuses (400) would
# fail the message for good.
_MAX_SCHEDULE_AHEAD = timedelta(hours=72)
SCHEDULE_HORIZON = _MAX_SCHEDULE_AHEAD - timedelta(minutes=10)
_MAX_REASON_CHARS = 500
# However far away a 429's reset time is, the workers are held back at most this long at once.
_MAX_GATE_HOLD = 300.0


@dataclass(frozen=True)
class _Reply:
    """What came back from one request; `status` is None when no answer came back."""

    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    # False only when the request provably never reached the server (connect or send failed).
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
    """Sends through SendGrid's v3 API with the official client; see the module docstring."""

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        host: str = SENDGRID_API_HOST,
        sandbox: bool = False,
        asm_group_id: int | None = None,
        asm_group_ids: Mapping[str, int] | None = None,
        from_email: str = "reports@flywheel.example.com",
        from_name: str = "Flywheel",
        reply_to: str | None = None,
        delivery_delay: timedelta = timedelta(minutes=30),
        cancel_cutoff: timedelta = timedelta(minutes=11),
        request_timeout: float = 30.0,
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
        register_secret(key)
        install_log_scrubbing()
        self._api_key = SecretStr(key)
        self.host = host.rstrip("/")
        self.sandbox = sandbox
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
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SendGridBackend(host={self.host!r}, sandbox={self.sandbox})"

    @property
    def name(self) -> str:
        return "sendgrid_sandbox" if self.sandbox else "sendgrid"

    # --- the SendBackend protocol -------------------------------------------------------

    def new_attempt(self, retry: RetryPolicy, delivery: DeliverySlot | None = None) -> Attempt:
        """A fresh batch id and a send_at: the first instant of the delivery window at least
        `delivery_delay` from now (sandbox: no batch, no send_at; the time is only recorded). Raises
        `DeliveryTooFarAhead`, before any request, when that is beyond SCHEDULE_HORIZON."""
        if self.sandbox:
            return Attempt(backend=self.name, scheduled_for=self._send_at(delivery))
        self._send_at(delivery)  # too far ahead: no batch id is spent
        reply = self._with_retries(retry, lambda client: client.mail.batch.post())
        body = reply.json()
        if reply.status in (200, 201) and isinstance(body, dict) and body.get("batch_id"):
            send_at = self._send_at(delivery)
            return Attempt(
                backend=self.name,
                batch_id=str(body["batch_id"]),
                send_at=send_at,
                scheduled_for=send_at,
            )
        raise AttemptUnavailable(
            f"could not create a batch id: {reply.reason()}",
            credentials_refused=reply.credentials_refused,
        )

    def send(self, email: RenderedEmail, attempt: Attempt) -> SendResult:
        """One `POST /v3/mail/send`, classified; never retried here."""
        try:
            payload = self.payload(email, attempt)
        except InvalidMessage as exc:
            return SendResult(SendStatus.REJECTED, reason=scrub(str(exc)))
        self._gate.wait()
        if attempt.send_at is not None and not self._cancellable(attempt.send_at):
            # The attempt waited too long (rate limit) to still be cancellable if it goes
            # wrong: it is not made; a fresh attempt gets a fresh send_at.
            return SendResult(SendStatus.RETRY, reason="attempt expired before it was made")
        reply = self._request(lambda client: client.mail.send.post(request_body=payload))
        if reply.status in (200, 202):
            return SendResult(
                SendStatus.ACCEPTED, provider_message_id=reply.headers.get("x-message-id")
            )
        if reply.status == 429:
            return SendResult(SendStatus.RETRY, reason=reply.reason(), retry_at=reply.reset_at())
        if reply.credentials_refused:
            return SendResult(SendStatus.REFUSED_CREDENTIALS, reason=reply.reason())
        if reply.status is not None and reply.status < 500:
            return SendResult(SendStatus.REJECTED, reason=reply.reason())
        if not reply.reached_server or attempt.batch_id is None:
            # Never arrived, or arrived in sandbox mode where nothing is delivered.
            return SendResult(SendStatus.RETRY, reason=reply.reason())
        # A 5xx (possibly from a proxy in front of the mail service), a time-out or a dropped
        # connection: the provider may have taken the message.
        return SendResult(SendStatus.IN_DOUBT, reason=reply.reason())

    def withdraw(self, attempt: Attempt, retry: RetryPolicy) -> Withdrawal:
        """Cancel the attempt's batch, if it is still before its cancel window closes."""
        if attempt.backend != "sendgrid":
            return Withdrawal(WithdrawStatus.NOTHING_IN_FLIGHT)
        if attempt.batch_id is None or attempt.send_at is None:
            return Withdrawal(WithdrawStatus.TOO_LATE, "the attempt has no batch to cancel")
        batch = attempt.batch_id
        last_reason = "not tried"
        for number in range(1, retry.max_attempts + 1):
            if not self._cancellable(attempt.send_at):
                return Withdrawal(WithdrawStatus.TOO_LATE, "past the batch's cancel window")
            status, reply = self._batch_status(batch)
            if status == "cancel":
                return Withdrawal(WithdrawStatus.CANCELLED)
            if reply.credentials_refused:
                return Withdrawal(WithdrawStatus.UNDETERMINED, f"cancel: {reply.reason()}")
            if not reply.retryable:  # 200 without a status, or 404: nothing set yet
                # No status yet: set one; paused (by someone): turn it into a cancellation.
                reply = self._request(
                    partial(_post_cancel, batch)
                    if status is None
                    else partial(_patch_cancel, batch)
                )
                if reply.status in (200, 201, 204):
                    return Withdrawal(WithdrawStatus.CANCELLED)
                if not reply.retryable:
                    # Refused (e.g. too many cancelled batches). Check: a cancel that was
                    # taken by an earlier, unanswered request shows up as the status.
                    status, _ = self._batch_status(batch)
                    if status == "cancel":
                        return Withdrawal(WithdrawStatus.CANCELLED)
                    if not self._cancellable(attempt.send_at):
                        return Withdrawal(WithdrawStatus.TOO_LATE, reply.reason())
                    return Withdrawal(
                        WithdrawStatus.UNDETERMINED, f"cancel refused: {reply.reason()}"
                    )
            last_reason = reply.reason()
            if number < retry.max_attempts:
                self._pause(retry, number, reply)
        return Withdrawal(WithdrawStatus.UNDETERMINED, f"cancel not confirmed: {last_reason}")

    # --- the request payload ------------------------------------------------------------

    def payload(self, email: RenderedEmail, attempt: Attempt) -> dict[str, Any]:
        """The v3 `mail/send` body, built with the client's `Mail` helper."""
        mail = Mail(
            from_email=From(self.from_email, self.from_name or None),
            to_emails=To(checked_address(email.to_email), single_line(email.to_name or "") or None),
            subject=Subject(single_line(email.subject)),
            plain_text_content=PlainTextContent(email.text),
            html_content=HtmlContent(email.html),
        )
        mail.custom_arg = CustomArg("send_key", email.send_key)
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
        if attempt.batch_id is not None and attempt.send_at is not None:
            mail.batch_id = BatchId(attempt.batch_id)
            mail.send_at = SendAt(_epoch(attempt.send_at))
        return mail.get()

    # --- HTTP -----------------------------------------------------------------------

    def _client(self) -> Any:
        """This thread's python_http_client (one per worker thread; they are cheap)."""
        client = getattr(self._local, "client", None)
        if client is None:
            api = SendGridAPIClient(api_key=self._api_key.get_secret_value(), host=self.host)
            api.client.timeout = self.request_timeout
            client = self._local.client = api.client
        return client

    def _request(self, call: Callable[[Any], Any]) -> _Reply:
        """One request. Exceptions are turned into a `_Reply` without ever formatting the
        client's objects (the request object carries the Authorization header)."""
        self._gate.wait()
        try:
            response = call(self._client())
            reply = _Reply(response.status_code, response.body or b"", _headers(response.headers))
        except ClientHTTPError as exc:  # the client raises for every status >= 400
            reply = _Reply(exc.status_code, exc.body or b"", _headers(exc.headers))
        except urllib.error.URLError as exc:
            # urllib raises URLError when connecting or writing the request fails: the request
            # was not complete, so the provider cannot have acted on it.
            reply = _Reply(None, reached_server=False, transport_error=_describe(exc.reason))
        except (OSError, http.client.HTTPException) as exc:
            # Failed while waiting for or reading the answer: the request was sent.
            reply = _Reply(None, transport_error=_describe(exc))
        if reply.status == 429:
            reset = reply.reset_at()
            if reset is not None:
                self._gate.hold_until(min(reset, time.time() + _MAX_GATE_HOLD))
        return reply

    def _with_retries(self, retry: RetryPolicy, call: Callable[[Any], Any]) -> _Reply:
        """A call that is safe to repeat (creating a batch id), retried while retryable."""
        for number in range(1, retry.max_attempts + 1):
            reply = self._request(call)
            if not reply.retryable or number == retry.max_attempts:
                return reply
            self._pause(retry, number, reply)
        raise AssertionError("unreachable")

    def _batch_status(self, batch: str) -> tuple[str | None, _Reply]:
        """The batch's scheduled-send status (`cancel`, `pause` or None) and the reply."""
        reply = self._request(lambda client: client.user.scheduled_sends._(batch).get())
        body = reply.json()
        if reply.status == 200 and isinstance(body, list):
            for entry in body:
                if isinstance(entry, dict) and entry.get("batch_id") == batch:
                    return entry.get("status"), reply
        return None, reply

    def _pause(self, retry: RetryPolicy, number: int, reply: _Reply) -> None:
        reset = reply.reset_at() if reply.status == 429 else None
        time.sleep(retry.until_reset(reset) if reset is not None else retry.backoff(number))

    def _cancellable(self, send_at: datetime) -> bool:
        return self.clock() < send_at - self.cancel_cutoff

    def _send_at(self, delivery: DeliverySlot | None) -> datetime:
        """The first instant of the delivery window at least `delivery_delay` from now, in
        whole seconds (SendGrid takes epoch seconds: rounded up, never earlier)."""
        now = self.clock()
        earliest = (now + self.delivery_delay).replace(microsecond=0) + timedelta(seconds=1)
        send_at = delivery.delivery_time(earliest) if delivery is not None else earliest
        if send_at.microsecond:
            send_at = send_at.replace(microsecond=0) + timedelta(seconds=1)
        if send_at > now + SCHEDULE_HORIZON:
            raise DeliveryTooFarAhead(send_at)
        return send_at


def _post_cancel(batch: str, client: Any) -> Any:
    body = {"batch_id": batch, "status": "cancel"}
    return client.user.scheduled_sends.post(request_body=body)


def _patch_cancel(batch: str, client: Any) -> Any:
    return client.user.scheduled_sends._(batch).patch(request_body={"status": "cancel"})


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
