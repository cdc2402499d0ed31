"""A local server that speaks the part of SendGrid's v3 API the sender uses, with faults.

    with FakeSendGrid(api_key="SG.test", fault_rate=0.2, seed=7) as server:
        backend = SendGridBackend("SG.test", host=server.host, ...)
        ...
        assert all(n == 1 for n in server.delivered_per_send_key().values())

Endpoints: `POST /v3/mail/send` (validates the payload like SendGrid: personalizations, from,
subject, text/plain + text/html content, custom_args.send_key, categories, batch_id/send_at;
202 with `X-Message-Id`, 400 with a SendGrid-style error body, 401 on a bad key),
`POST /v3/mail/batch`, `GET /v3/mail/batch/{id}`, `POST /v3/user/scheduled_sends`,
`GET|PATCH|DELETE /v3/user/scheduled_sends/{id}`.

SendGrid's documented rules are on by default (docs: "Cancel scheduled sends", "Rate
limits"):

- a `send_at` more than 72 hours ahead is refused (400);
- a batch cannot be cancelled or paused later than `cancel_cutoff` seconds (SendGrid: 10
  minutes) before its `send_at` (400);
- at most `max_cancelled_batches` (SendGrid: 10) batches may be cancelled or paused at one
  time: a cancelled batch counts until the last of its messages' `send_at` has passed (an
  empty one for ever); the 11th cancel is refused (400);
- every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
  (epoch seconds), per endpoint and refresh period (`rate_limits`); past the limit, a request
  is refused with 429 and not carried out.

The scheduling rules read `clock` (epoch seconds; default the real time), so a test can run
client and server at a chosen instant; rate limits count in real time, as a client waits for
`X-RateLimit-Reset` in real time. `None` turns a limit off. A message is *delivered* when it was
accepted, not in sandbox mode, and its batch (if any) was not cancelled; `delivered()` is what
recipients would get once every send_at has passed, and `events()` the Event Webhook's
`processed` and `delivered` events of the messages whose `send_at` has passed by then.

Faults, for a fraction of requests (seeded RNG) or for the next N requests to a path: `429`
(with `X-RateLimit-Reset`), `500`, `503`, or `drop` — the request is carried out (a message is
taken, a batch cancelled) and the connection closed without an answer: "the provider took it
but we never heard back". `start_outage()` answers every request with a 5xx (not carried out)
until `end_outage()`. `delay_next` takes a request and then waits before answering, so a test
can kill the client while its request is in flight. `batch_endpoints=False` answers 404 on
`/v3/mail/batch` and `/v3/user/scheduled_sends`, like mocks without scheduled sends
(janjaali/sendGrid-mock).

HTTP/1.1 with keep-alive, loopback only, ephemeral port, bounded: request bodies, stored
messages and concurrent connections are capped.
"""

import json
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# The faults drawn at random by `fault_rate`; `fail_next` and outages also take "503".
FAULT_KINDS = ("429", "500", "drop")
_ALL_FAULTS = (*FAULT_KINDS, "503")
_MAX_AHEAD_SECONDS = 72 * 3600
SEND_PATH = "/v3/mail/send"
# Requests per refresh period (seconds), per endpoint group. SendGrid publishes no numbers for
# v3 but returns the headers on every call; these are generous for mail/send and 600 a
# minute for the other endpoints (SendGrid's announced default for its rate-limited ones).
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "mail_send": (10_000, 1.0),
    "other": (600, 60.0),
}
_BATCH_PREFIXES = ("/v3/mail/batch", "/v3/user/scheduled_sends")


@dataclass(frozen=True)
class AcceptedMessage:
    message_id: str
    send_key: str | None
    to: tuple[str, ...]
    subject: str
    categories: tuple[str, ...]
    headers: dict[str, str]
    batch_id: str | None
    send_at: int | None
    sandbox: bool
    payload: dict[str, Any]
    received_at: float


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int | None  # None: the connection was dropped without an answer
    fault: str | None
    at: float
    authorization: str | None


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


class _Refused(Exception):
    def __init__(self, status: int, errors: list[tuple[str | None, str]]) -> None:
        super().__init__(errors)
        self.reply = _Reply(
            status, {"errors": [{"field": field, "message": message} for field, message in errors]}
        )


class FakeSendGrid:
    def __init__(
        self,
        api_key: str = "SG.fake-test-key",
        *,
        seed: int = 0,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = FAULT_KINDS,
        fault_paths: Iterable[str] | None = None,
        rate_limit_reset_after: int = 1,
        cancel_cutoff: float = 600.0,
        max_cancelled_batches: int | None = 10,
        rate_limits: dict[str, tuple[int, float]] | None = DEFAULT_RATE_LIMITS,
        batch_endpoints: bool = True,
        reject_addresses: Iterable[str] = (),
        response_delay: float = 0.0,
        echo_authorization_in_errors: bool = False,
        max_body_bytes: int = 1_000_000,
        max_messages: int = 100_000,
        max_connections: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        unknown = set(self.fault_kinds) - set(_ALL_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.fault_paths = None if fault_paths is None else tuple(fault_paths)
        self.rate_limit_reset_after = rate_limit_reset_after
        self.cancel_cutoff = cancel_cutoff
        self.max_cancelled_batches = max_cancelled_batches
        self.rate_limits = dict(rate_limits or {})
        self.batch_endpoints = batch_endpoints
        self._windows: dict[str, tuple[float, int]] = {}  # group -> (window start, used)
        self._outage: tuple[str, tuple[str, ...] | None] | None = None
        self.reject_addresses = {address.lower() for address in reject_addresses}
        self.response_delay = response_delay
        self.echo_authorization_in_errors = echo_authorization_in_errors
        self.max_body_bytes = max_body_bytes
        self.max_messages = max_messages

        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release = threading.Event()  # ends every pending delay (on stop)
        self._connections = threading.BoundedSemaphore(max_connections)
        self._forced_faults: dict[str, deque[str | None]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._delayed_taken = threading.Event()

        self.messages: list[AcceptedMessage] = []
        self.requests: list[RequestRecord] = []
        self.batches: set[str] = set()
        self.batch_status: dict[str, str] = {}  # batch id -> cancel | pause
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> "FakeSendGrid":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeSendGrid":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- controls -----------------------------------------------------------------------

    def fail_next(self, kind: str | None, n: int = 1, path: str = "/v3/mail/send") -> None:
        """The next `n` requests to `path` get fault `kind` (429, 500 or drop; None: no
        fault). Calls queue up: `fail_next("drop"); fail_next(None); fail_next("drop")`."""
        if kind is not None and kind not in _ALL_FAULTS:
            raise ValueError(kind)
        with self._lock:
            self._forced_faults.setdefault(path, deque()).extend([kind] * n)

    def start_outage(self, kind: str = "503", paths: Iterable[str] | None = None) -> None:
        """From now on every request (to a path starting with one of `paths`, if given)
        gets fault `kind` (500, 503 or drop) until `end_outage`."""
        if kind not in ("500", "503", "drop"):
            raise ValueError(kind)
        with self._lock:
            self._outage = (kind, None if paths is None else tuple(paths))

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None

    def delay_next(self, seconds: float, n: int = 1, path: str = "/v3/mail/send") -> None:
        """The next `n` requests to `path` are carried out, then answered after `seconds`."""
        with self._lock:
            self._delays.setdefault(path, deque()).extend([seconds] * n)

    def wait_for_delayed(self, timeout: float = 10.0) -> bool:
        """Wait until a delayed request has been carried out and its answer is held back."""
        return self._delayed_taken.wait(timeout)

    def wait_for_requests(self, count: int, path: str | None = None, timeout: float = 10.0) -> bool:
        """Wait until `count` requests (to `path`, if given) have been received."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._count_requests(path) >= count, timeout=timeout
            )

    # --- what happened ------------------------------------------------------------------

    def request_count(self, path: str | None = None) -> int:
        with self._lock:
            return self._count_requests(path)

    def delivered(self) -> list[AcceptedMessage]:
        """Messages recipients get: accepted, not sandboxed, batch not cancelled."""
        with self._lock:
            return [
                message
                for message in self.messages
                if not message.sandbox
                and (message.batch_id is None or self.batch_status.get(message.batch_id) is None)
            ]

    def delivered_per_send_key(self) -> Counter:
        return Counter(message.send_key for message in self.delivered())

    def cancelled_batches(self) -> set[str]:
        with self._lock:
            return {batch for batch, status in self.batch_status.items() if status == "cancel"}

    def events(self, until: float | None = None) -> list[dict[str, str]]:
        """The Event Webhook's events, as raw `email_events` rows (text columns), of the
        messages delivered by `until` (epoch seconds; default `clock()`): `processed` at the
        message's send_at (or when it was taken), `delivered` a second later, and `open`
        three hours later (the reader), so the feed goes on past the last send_at."""
        until = self.clock() if until is None else until
        rows = []
        for message in self.delivered():
            at = message.send_at if message.send_at is not None else int(message.received_at)
            for offset, event in ((0, "processed"), (1, "delivered"), (3 * 3600, "open")):
                if at + offset > until:
                    continue
                rows.append(
                    {
                        "sg_event_id": f"{message.message_id}-{event}",
                        "sg_message_id": f"{message.message_id}.filter0001",
                        "email": message.to[0],
                        "event": event,
                        "timestamp": str(at + offset),
                        "send_key": message.send_key,
                        "url": None,
                    }
                )
        return rows

    # --- request handling (handler threads) ---------------------------------------------

    def _count_requests(self, path: str | None) -> int:
        return sum(path is None or record.path == path for record in self.requests)

    def _pick_fault(self, path: str) -> str | None:
        if self._outage is not None:
            kind, paths = self._outage
            if paths is None or path.startswith(paths):
                return kind
        forced = self._forced_faults.get(path)
        if forced:
            return forced.popleft()  # may be None: this request passes
        if self.fault_paths is not None and path not in self.fault_paths:
            return None
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(self.fault_kinds)
        return None

    def handle(self, handler: "_Handler", method: str) -> None:
        path = urlsplit(handler.path).path.rstrip("/")
        length = int(handler.headers.get("Content-Length") or 0)
        authorization = handler.headers.get("Authorization")
        if length > self.max_body_bytes:
            handler.close_connection = True  # the body is not read: the connection is spent
            handler.reply(_Reply(413, {"errors": [{"field": None, "message": "too large"}]}))
            self._record(method, path, 413, None, authorization)
            return
        raw = handler.rfile.read(length) if length else b""

        with self._changed:
            self.requests.append(RequestRecord(method, path, None, None, time.time(), None))
            index = len(self.requests) - 1
            self._changed.notify_all()
            fault = self._pick_fault(path)
            delays = self._delays.get(path)
            delay = delays.popleft() if delays else self.response_delay

        if authorization != f"Bearer {self.api_key}":
            reply = _Reply(
                401,
                {
                    "errors": [
                        {
                            "field": None,
                            "message": "The provided authorization grant is invalid, "
                            "expired, or revoked",
                        }
                    ]
                },
            )
            self._finish(handler, index, reply, None, authorization)
            return
        if fault in ("429", "500", "503"):
            self._finish(handler, index, self._fault_reply(fault), fault, authorization)
            return
        if not self.batch_endpoints and path.startswith(_BATCH_PREFIXES):
            reply = _Reply(404, {"errors": [{"field": None, "message": "not found"}]})
            self._finish(handler, index, reply, None, authorization)
            return
        limit = self._rate_limit(method, path)
        if limit.status == 429:
            self._finish(handler, index, limit, "rate_limit", authorization)
            return
        try:
            body = json.loads(raw) if raw else None
            reply = self._route(method, path, body)
        except json.JSONDecodeError:
            reply = _Reply(400, {"errors": [{"field": None, "message": "Bad Request"}]})
        except _Refused as refused:
            reply = refused.reply
            if self.echo_authorization_in_errors:
                reply.body["errors"].append({"field": None, "message": f"got {authorization}"})
        if fault == "drop":
            self._record_at(index, None, fault, authorization)
            handler.close_connection = True
            return
        if delay:
            self._delayed_taken.set()
            self._release.wait(delay)
        reply.headers = {**(reply.headers or {}), **(limit.headers or {})}
        self._finish(handler, index, reply, None, authorization)

    def _rate_limit(self, method: str, path: str) -> _Reply:
        """The rate-limit headers of this request, or a 429 when its window is used up."""
        group = "mail_send" if (method, path) == ("POST", SEND_PATH) else "other"
        if group not in self.rate_limits:
            return _Reply(200)
        allowed, period = self.rate_limits[group]
        now = time.time()
        with self._lock:
            start, used = self._windows.get(group, (0.0, 0))
            if now >= start + period:
                start, used = now - (now % period), 0
            refused = used >= allowed
            if not refused:
                used += 1
            self._windows[group] = (start, used)
        headers = {
            "X-RateLimit-Limit": str(allowed),
            "X-RateLimit-Remaining": str(allowed - used),
            "X-RateLimit-Reset": str(int(math.ceil(start + period))),
        }
        if refused:
            return _Reply(
                429, {"errors": [{"field": None, "message": "too many requests"}]}, headers
            )
        return _Reply(200, headers=headers)

    def _fault_reply(self, fault: str) -> _Reply:
        if fault == "429":
            reset = int(time.time()) + self.rate_limit_reset_after
            return _Reply(
                429,
                {"errors": [{"field": None, "message": "too many requests"}]},
                {
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                },
            )
        if fault == "503":
            return _Reply(503, {"errors": [{"field": None, "message": "service unavailable"}]})
        return _Reply(500, {"errors": [{"field": None, "message": "internal server error"}]})

    def _finish(
        self,
        handler: "_Handler",
        index: int,
        reply: _Reply,
        fault: str | None,
        authorization: str | None,
    ) -> None:
        self._record_at(index, reply.status, fault, authorization)
        handler.reply(reply)

    def _record_at(
        self, index: int, status: int | None, fault: str | None, authorization: str | None
    ) -> None:
        with self._lock:
            record = self.requests[index]
            self.requests[index] = RequestRecord(
                record.method, record.path, status, fault, record.at, authorization
            )

    def _record(self, method: str, path: str, status: int, fault: str | None, auth: Any) -> None:
        with self._changed:
            self.requests.append(RequestRecord(method, path, status, fault, time.time(), auth))
            self._changed.notify_all()

    def _route(self, method: str, path: str, body: Any) -> _Reply:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v3/mail/send":
            return self._mail_send(body)
        if method == "POST" and path == "/v3/mail/batch":
            batch_id = uuid.uuid4().hex
            with self._lock:
                self.batches.add(batch_id)
            return _Reply(201, {"batch_id": batch_id})
        if method == "GET" and parts[:3] == ["v3", "mail", "batch"] and len(parts) == 4:
            with self._lock:
                known = parts[3] in self.batches
            if not known:
                raise _Refused(400, [("batch_id", "invalid batch id")])
            return _Reply(200, {"batch_id": parts[3]})
        if parts[:3] == ["v3", "user", "scheduled_sends"]:
            if method == "POST" and len(parts) == 3:
                return self._schedule_status(body, create=True)
            if len(parts) == 4 and method == "GET":
                with self._lock:
                    status = self.batch_status.get(parts[3])
                if status is None:
                    raise _Refused(404, [(None, "batch id not found")])
                return _Reply(200, [{"batch_id": parts[3], "status": status}])
            if len(parts) == 4 and method == "PATCH":
                return self._schedule_status({**(body or {}), "batch_id": parts[3]}, create=False)
            if len(parts) == 4 and method == "DELETE":
                with self._lock:
                    self.batch_status.pop(parts[3], None)
                return _Reply(204)
        return _Reply(404, {"errors": [{"field": None, "message": "not found"}]})

    def _schedule_status(self, body: Any, *, create: bool) -> _Reply:
        if not isinstance(body, dict) or body.get("status") not in ("cancel", "pause"):
            raise _Refused(400, [("status", "status must be cancel or pause")])
        batch_id, status = body.get("batch_id"), body["status"]
        now = self.clock()
        with self._lock:
            if batch_id not in self.batches:
                raise _Refused(400, [("batch_id", "invalid batch id")])
            if create and batch_id in self.batch_status:
                raise _Refused(400, [("batch_id", "batch id already has a status")])
            if not create and batch_id not in self.batch_status:
                raise _Refused(404, [(None, "batch id not found")])
            send_ats = [m.send_at for m in self.messages if m.batch_id == batch_id and m.send_at]
            if send_ats and now > min(send_ats) - self.cancel_cutoff:
                raise _Refused(
                    400, [("batch_id", "too late to cancel or pause: send_at is too close")]
                )
            if create and self.max_cancelled_batches is not None:
                last_send_at: dict[str, float] = {}
                for m in self.messages:
                    if m.batch_id in self.batch_status and m.send_at is not None:
                        last_send_at[m.batch_id] = max(last_send_at.get(m.batch_id, 0), m.send_at)
                waiting = sum(
                    1 for batch in self.batch_status if last_send_at.get(batch, math.inf) > now
                )
                if waiting >= self.max_cancelled_batches:
                    raise _Refused(400, [(None, "too many batches cancelled or paused")])
            self.batch_status[batch_id] = status
        return _Reply(201, {"batch_id": batch_id, "status": status}) if create else _Reply(204)

    def _mail_send(self, body: Any) -> _Reply:
        errors = _validate_mail(body)
        if errors:
            raise _Refused(400, errors)
        recipients = tuple(
            recipient["email"]
            for personalization in body["personalizations"]
            for recipient in personalization["to"]
        )
        if any(address.lower() in self.reject_addresses for address in recipients):
            raise _Refused(
                400, [("personalizations.0.to.0.email", "Does not contain a valid address.")]
            )
        batch_id, send_at = body.get("batch_id"), body.get("send_at")
        if batch_id is not None:
            with self._lock:
                known = batch_id in self.batches
            if not known:
                raise _Refused(400, [("batch_id", "invalid batch id")])
        if send_at is not None and send_at > self.clock() + _MAX_AHEAD_SECONDS:
            raise _Refused(400, [("send_at", "cannot be more than 72 hours in the future")])
        sandbox = bool(body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable"))
        message = AcceptedMessage(
            message_id=uuid.uuid4().hex[:22],
            send_key=body.get("custom_args", {}).get("send_key"),
            to=recipients,
            subject=body["subject"],
            categories=tuple(body.get("categories", ())),
            headers=dict(body.get("headers", {})),
            batch_id=batch_id,
            send_at=send_at,
            sandbox=sandbox,
            payload=body,
            received_at=time.time(),
        )
        with self._lock:
            if len(self.messages) >= self.max_messages:
                raise _Refused(413, [(None, "fake server message store is full")])
            self.messages.append(message)
        if sandbox:
            return _Reply(200)
        return _Reply(202, headers={"X-Message-Id": message.message_id})


def _is_address(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.count("@") == 1
        and "." in value.split("@")[1]
        and not any(char.isspace() for char in value)
    )


def _has_line_break(value: Any) -> bool:
    return isinstance(value, str) and any(char in value for char in "\r\n")


def _validate_mail(body: Any) -> list[tuple[str | None, str]]:
    """SendGrid's checks on a v3 mail/send body, as (field, message) pairs."""
    if not isinstance(body, dict):
        return [(None, "Bad Request")]
    errors: list[tuple[str | None, str]] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(("personalizations", "The personalizations field is required."))
    else:
        for p_index, personalization in enumerate(personalizations):
            recipients = personalization.get("to") if isinstance(personalization, dict) else None
            if not isinstance(recipients, list) or not recipients:
                errors.append((f"personalizations.{p_index}.to", "The to array is required."))
                continue
            for r_index, recipient in enumerate(recipients):
                if not isinstance(recipient, dict) or not _is_address(recipient.get("email")):
                    errors.append(
                        (
                            f"personalizations.{p_index}.to.{r_index}.email",
                            "Does not contain a valid address.",
                        )
                    )
    sender = body.get("from")
    if not isinstance(sender, dict) or not _is_address(sender.get("email")):
        errors.append(("from.email", "The from email does not contain a valid address."))
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        errors.append(("subject", "The subject is required."))
    elif _has_line_break(subject):
        errors.append(("subject", "The subject cannot contain line breaks."))
    content = body.get("content")
    types = (
        [c.get("type") for c in content if isinstance(c, dict)] if isinstance(content, list) else []
    )
    if types[:2] != ["text/plain", "text/html"] or not all(
        isinstance(c.get("value"), str) and c["value"] for c in content
    ):
        errors.append(("content", "Content must be text/plain followed by text/html, non-empty."))
    custom_args = body.get("custom_args")
    if not isinstance(custom_args, dict) or not isinstance(custom_args.get("send_key"), str):
        errors.append(("custom_args.send_key", "Flywheel sends carry custom_args.send_key."))
    categories = body.get("categories", [])
    if (
        not isinstance(categories, list)
        or len(categories) > 10
        or not all(isinstance(c, str) and 0 < len(c) <= 255 for c in categories)
    ):
        errors.append(("categories", "Up to 10 categories of at most 255 characters."))
    headers = body.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and not _has_line_break(k + v)
        for k, v in headers.items()
    ):
        errors.append(("headers", "Headers must be strings without line breaks."))
    if "batch_id" in body and not isinstance(body["batch_id"], str):
        errors.append(("batch_id", "The batch_id must be a string."))
    if "send_at" in body and (not isinstance(body["send_at"], int) or body["send_at"] <= 0):
        errors.append(("send_at", "The send_at must be a unix timestamp."))
    if "batch_id" in body and "send_at" not in body:
        errors.append(("send_at", "A batch_id is used with send_at (scheduled sends)."))
    asm = body.get("asm")
    if asm is not None and (not isinstance(asm, dict) or not isinstance(asm.get("group_id"), int)):
        errors.append(("asm.group_id", "The group_id must be an integer."))
    return errors


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSendGrid/1.0"
    protocol_version = "HTTP/1.1"  # persistent connections, as SendGrid's API
    # The headers and the body go out in two writes: without this, Nagle's algorithm holds
    # the body until the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    timeout = 10  # seconds a connection may idle: a stuck client cannot hold a thread forever

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake: FakeSendGrid = self.server.fake  # type: ignore[attr-defined]
        with fake._connections:
            fake.handle(self, method)

    def reply(self, reply: _Reply) -> None:
        data = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        try:
            self.send_response(reply.status)
            for name, value in (reply.headers or {}).items():
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            # the blank line and the body with the headers: one write per answer
            self._headers_buffer.append(b"\r\n" + data)
            self.flush_headers()
        except OSError:
            self.close_connection = True  # the client is gone (killed while waiting)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is `FakeSendGrid.requests`
