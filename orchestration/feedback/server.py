"""The HTTP server that receives SendGrid's Event Webhook (`flywheel webhook`).

POST (any path) a JSON array of events, signed by SendGrid: the request is verified
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

from sendgrid.helpers.eventwebhook import EventWebhook

from orchestration.feedback.raw_files import warm_up, write_email_events
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
    ) -> None:
        self.raw_dir = raw_dir
        self.verifier = verifier
        self.tolerance_seconds = tolerance_seconds
        self.max_body_bytes = max_body_bytes
        warm_up()
        super().__init__(address, WebhookHandler)


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "FlywheelWebhook/1"
    protocol_version = "HTTP/1.1"
    # seconds a client may take to send the request: a stalled client cannot hold a thread
    timeout = 30

    def do_POST(self) -> None:
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
        else:
            self._answer(HTTPStatus.NOT_FOUND, "POST SendGrid events here")

    def _read_body(self) -> bytes:
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
        if length > self.server.max_body_bytes:
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
) -> WebhookServer:
    """A bound, not yet serving receiver (port 0 picks a free port: see `server_address`)."""
    return WebhookServer(
        (host, port),
        raw_dir=raw_dir,
        verifier=load_public_key(public_key),
        tolerance_seconds=tolerance_seconds,
        max_body_bytes=max_body_bytes,
    )


def serve(host: str, port: int, *, raw_dir: Path, public_key: str) -> None:
    """Receive webhook requests until interrupted (Ctrl-C)."""
    server = make_server(host, port, raw_dir=raw_dir, public_key=public_key)
    bound_host, bound_port = server.server_address[:2]
    log.info(
        "Receiving SendGrid events on http://%s:%s, writing to %s",
        bound_host,
        bound_port,
        raw_dir / "email_events",
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
