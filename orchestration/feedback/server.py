"""The HTTP server of `flywheel webhook`: SendGrid's Event Webhook and the unsubscribe page.

The unsubscribe endpoint (`unsubscribe_path`, default `/unsubscribe`: the path of
FLYWHEEL_UNSUBSCRIBE_URL) is described in `unsubscribe.py`: GET shows the preferences page,
POST takes RFC 8058 one-click unsubscribes and the page's form, and each choice is written as a
raw `unsubscribes` file before the answer (200; 400 no token or a bad form; 403 a token that
does not verify; 500 the file could not be written).

POST (any other path) a JSON array of events, signed by SendGrid: the request is verified
(`webhook.verify_and_convert`), its events are written as a new raw `email_events` file
(`raw_files.write_email_events`), and only then is it answered 200, so an event is never
acknowledged before it is on disk. SendGrid retries anything else, so a retry may deliver
events again: staging keeps the first copy of each `sg_event_id`. The ingestion (the daily
run, or the sensor for new raw files) loads the files into the warehouse.

Answers: 200 stored (or nothing to store), 400 malformed body or Content-Length, 401 unsigned,
403 bad signature or stale timestamp, 411 no Content-Length, 413 body over the limit, 500
the file could not be written (SendGrid will retry). `GET /healthz` answers 200 for probes.
Request bodies are never logged: they hold e-mail addresses.
"""

import logging
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sendgrid.helpers.eventwebhook import EventWebhook

from orchestration.emails.unsubscribe_token import UnsubscribeTarget
from orchestration.feedback.raw_files import warm_up, write_email_events, write_unsubscribes
from orchestration.feedback.unsubscribe import (
    MAX_FORM_BYTES,
    UnsubscribeRejected,
    chosen_groups,
    is_one_click,
    parse_form,
    render_page,
    target_from_query,
    unsubscribe_rows,
)
from orchestration.feedback.webhook import (
    DEFAULT_TOLERANCE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    load_public_key,
    verify_and_convert,
)

log = logging.getLogger(__name__)

# SendGrid posts a batch every few seconds or when it reaches about 768 KB; allow headroom.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_UNSUBSCRIBE_PATH = "/unsubscribe"
# The unsubscribe pages carry a token in their URL and a form that changes settings.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class WebhookServer(ThreadingHTTPServer):
    """A threading HTTP server that knows where to write events and how to verify them."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        raw_dir: Path,
        verifier: EventWebhook,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        unsubscribe_secret: bytes | None = None,
        unsubscribe_path: str = DEFAULT_UNSUBSCRIBE_PATH,
        brand: str = "Flywheel",
    ) -> None:
        self.raw_dir = raw_dir
        self.verifier = verifier
        self.tolerance_seconds = tolerance_seconds
        self.max_body_bytes = max_body_bytes
        # None: no unsubscribe endpoint (404)
        self.unsubscribe_secret = unsubscribe_secret
        self.unsubscribe_path = unsubscribe_path
        self.brand = brand
        warm_up()
        super().__init__(address, WebhookHandler)


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "FlywheelWebhook/1"
    protocol_version = "HTTP/1.1"
    # seconds a client may take to send the request: a stalled client cannot hold a thread
    timeout = 30

    def do_POST(self) -> None:
        if self._is_unsubscribe():
            self._unsubscribe(post=True)
            return
        try:
            body = self._read_body()
            rows = verify_and_convert(
                body,
                self.headers.get(SIGNATURE_HEADER),
                self.headers.get(TIMESTAMP_HEADER),
                verifier=self.server.verifier,
                now=time.time(),
                tolerance_seconds=self.server.tolerance_seconds,
            )
        except WebhookRejected as rejected:
            log.warning("Refused a webhook request from %s: %s", self.client_address[0], rejected)
            self._answer(rejected.status, rejected.reason, close=True)
            return
        if rows:
            try:
                path = write_email_events(self.server.raw_dir, rows)
            except OSError:
                log.exception("Could not write %d webhook events; SendGrid will retry", len(rows))
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, "could not store the events")
                return
            log.info("Stored %d events in %s", len(rows), path.relative_to(self.server.raw_dir))
        self._answer(HTTPStatus.OK, "ok")

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._answer(HTTPStatus.OK, "ok")
        elif self._is_unsubscribe():
            self._unsubscribe(post=False)
        else:
            self._answer(HTTPStatus.NOT_FOUND, "POST SendGrid events here")

    # --- unsubscribe ------------------------------------------------------------------

    def _is_unsubscribe(self) -> bool:
        return (
            self.server.unsubscribe_secret is not None
            and urlsplit(self.path).path == self.server.unsubscribe_path
        )

    def _unsubscribe(self, *, post: bool) -> None:
        server = self.server
        query = urlsplit(self.path).query
        try:
            target = target_from_query(server.unsubscribe_secret or b"", query)
            if not post:
                self._answer_page(self._page(target, query))
                return
            form = parse_form(self._read_body(MAX_FORM_BYTES), self.headers.get("Content-Type"))
            one_click = is_one_click(form)
            groups = [target.group or None] if one_click else chosen_groups(form)
        except (UnsubscribeRejected, WebhookRejected) as rejected:
            log.warning("Refused an unsubscribe request: %s", rejected)
            self._answer(rejected.status, rejected.reason, close=True)
            return
        if groups:
            try:
                path = write_unsubscribes(server.raw_dir, unsubscribe_rows(target.email, groups))
            except OSError:
                log.exception("Could not write an unsubscribe")
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, "could not save, try again")
                return
            # never the address: the log shows what was written where
            log.info("Stored an unsubscribe (%s) in %s", groups, path.relative_to(server.raw_dir))
        if one_click:
            self._answer(HTTPStatus.OK, "unsubscribed")
        elif not groups:
            self._answer_page(self._page(target, query, nothing_chosen=True))
        else:
            saved = None if groups == [None] else groups
            self._answer_page(self._page(target, query, saved=saved))

    def _page(self, target: UnsubscribeTarget, query: str, **outcome: object) -> str:
        token = parse_qs(query)["token"][0]  # verified by target_from_query
        return render_page(target, brand=self.server.brand, token=token, **outcome)

    def _answer_page(self, html: str) -> None:
        payload = html.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in _PAGE_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    # --- shared -----------------------------------------------------------------------

    def _read_body(self, max_bytes: int | None = None) -> bytes:
        """The request body, refused before reading when it is unbounded or too large."""
        if self.headers.get("Transfer-Encoding"):
            raise WebhookRejected(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise WebhookRejected(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
        length_header = length_header.strip()
        if not length_header.isascii() or not length_header.isdigit():
            raise WebhookRejected(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
        length = int(length_header)
        if length > (max_bytes or self.server.max_body_bytes):
            raise WebhookRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise WebhookRejected(HTTPStatus.BAD_REQUEST, "body shorter than Content-Length")
        return body

    def _answer(self, status: HTTPStatus, message: str, *, close: bool = False) -> None:
        payload = f"{message}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if close:  # the body may be unread: never reuse the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.client_address[0], format % args)


def make_server(
    host: str,
    port: int,
    *,
    raw_dir: Path,
    public_key: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    unsubscribe_secret: bytes | None = None,
    unsubscribe_path: str = DEFAULT_UNSUBSCRIBE_PATH,
    brand: str = "Flywheel",
) -> WebhookServer:
    """A bound, not yet serving receiver (port 0 picks a free port: see `server_address`).
    Without `unsubscribe_secret` (FLYWHEEL_SECRET_KEY) there is no unsubscribe endpoint."""
    return WebhookServer(
        (host, port),
        raw_dir=raw_dir,
        verifier=load_public_key(public_key),
        tolerance_seconds=tolerance_seconds,
        max_body_bytes=max_body_bytes,
        unsubscribe_secret=unsubscribe_secret,
        unsubscribe_path=unsubscribe_path,
        brand=brand,
    )


def serve(
    host: str,
    port: int,
    *,
    raw_dir: Path,
    public_key: str,
    unsubscribe_secret: bytes | None = None,
    unsubscribe_path: str = DEFAULT_UNSUBSCRIBE_PATH,
    brand: str = "Flywheel",
) -> None:
    """Receive webhook requests until interrupted (Ctrl-C)."""
    server = make_server(
        host,
        port,
        raw_dir=raw_dir,
        public_key=public_key,
        unsubscribe_secret=unsubscribe_secret,
        unsubscribe_path=unsubscribe_path,
        brand=brand,
    )
    bound_host, bound_port = server.server_address[:2]
    log.info(
        "Receiving SendGrid events on http://%s:%s, writing to %s",
        bound_host,
        bound_port,
        raw_dir / "email_events",
    )
    if unsubscribe_secret is not None:
        log.info(
            "Unsubscribe page on http://%s:%s%s, writing to %s",
            bound_host,
            bound_port,
            unsubscribe_path,
            raw_dir / "unsubscribes",
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
