"""The SendGrid Event Webhook receiver: signed requests in, raw email_events files out.

A real EC P-256 key pair is generated per test module (with `cryptography`, which the
`sendgrid` library's verifier uses) and requests are signed exactly as SendGrid signs them:
ECDSA-SHA256 over the timestamp header followed by the body, base64 DER. The receiver runs
on a free local port in a thread and is called over real HTTP.
"""

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orchestration.cli import main
from orchestration.feedback.server import make_server
from orchestration.feedback.webhook import (
    EVENT_COLUMNS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    event_row,
    load_public_key,
    verify_and_convert,
)
from orchestration.ingestion.loader import ensure_raw_schema, load_table

EVENTS = [
    {
        "email": "ada@example.com",
        "timestamp": 1772362805,
        "event": "delivered",
        "sg_event_id": "evt-delivered-1",
        "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "category": ["weekly_report"],
        "send_key": "usr_000001:weekly_report:2026-W09",
    },
    {
        "email": "ada@example.com",
        "timestamp": 1772366400,
        "event": "open",
        "sg_event_id": "evt-open-1",
        "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
        "useragent": "Mozilla/5.0",
        "send_key": "usr_000001:weekly_report:2026-W09",
    },
]


@pytest.fixture(scope="module")
def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def public_key(private_key) -> str:
    """The public key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sign(private_key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def signed_headers(private_key, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(private_key, stamp, body),
    }


@pytest.fixture
def receiver(tmp_path, public_key):
    """A running receiver on a free port: (base URL, raw directory)."""
    raw_dir = tmp_path / "raw"
    server = make_server(
        "127.0.0.1", 0, raw_dir=raw_dir, public_key=public_key, max_body_bytes=64 * 1024
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/", raw_dir
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def raw_files(raw_dir: Path) -> list[Path]:
    return sorted((raw_dir / "email_events").rglob("*.parquet"))


def every_file(raw_dir: Path) -> list[Path]:
    return [path for path in raw_dir.rglob("*") if path.is_file()]


# ----------------------------------------------------------------------------- over HTTP


def test_a_signed_request_is_stored_as_a_raw_file(receiver, private_key):
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()

    assert post(url, body, signed_headers(private_key, body)) == HTTPStatus.OK

    files = raw_files(raw_dir)
    assert len(files) == 1
    assert files[0].relative_to(raw_dir).parts[:2] == ("email_events", "webhook")
    table = pq.read_table(files[0])
    assert table.column_names == list(EVENT_COLUMNS)
    assert table.to_pylist() == [
        {
            "sg_event_id": "evt-delivered-1",
            "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
            "email": "ada@example.com",
            "event": "delivered",
            "timestamp": "1772362805",
            "send_key": "usr_000001:weekly_report:2026-W09",
        },
        {
            "sg_event_id": "evt-open-1",
            "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
            "email": "ada@example.com",
            "event": "open",
            "timestamp": "1772366400",
            "send_key": "usr_000001:weekly_report:2026-W09",
        },
    ]
    # no temporary file is left behind
    assert every_file(raw_dir) == files


def test_an_unsigned_request_is_refused(receiver):
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()

    assert post(url, body, {"Content-Type": "application/json"}) == HTTPStatus.UNAUTHORIZED
    assert every_file(raw_dir) == []


def test_a_tampered_body_is_refused(receiver, private_key):
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()
    headers = signed_headers(private_key, body)
    tampered = body.replace(b"ada@example.com", b"eve@example.com")

    assert post(url, tampered, headers) == HTTPStatus.FORBIDDEN
    assert every_file(raw_dir) == []


def test_a_signature_by_another_key_is_refused(receiver):
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()
    other_key = ec.generate_private_key(ec.SECP256R1())

    assert post(url, body, signed_headers(other_key, body)) == HTTPStatus.FORBIDDEN
    assert every_file(raw_dir) == []


@pytest.mark.parametrize("age_seconds", [3600, -3600])
def test_a_stale_or_future_timestamp_is_refused(receiver, private_key, age_seconds):
    """Correctly signed, but too old (a replay) or too far ahead: refused."""
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()
    headers = signed_headers(private_key, body, timestamp=int(time.time()) - age_seconds)

    assert post(url, body, headers) == HTTPStatus.FORBIDDEN
    assert every_file(raw_dir) == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"event": "open"}', b'["open"]', "[]".encode("utf-16")],
    ids=["not-json", "object-not-array", "array-of-strings", "not-utf8"],
)
def test_a_signed_but_malformed_body_is_refused(receiver, private_key, body):
    url, raw_dir = receiver

    assert post(url, body, signed_headers(private_key, body)) == HTTPStatus.BAD_REQUEST
    assert every_file(raw_dir) == []


def test_a_body_over_the_limit_is_refused_unread(receiver, private_key):
    """413 on the headers alone: the receiver answers without waiting for the body."""
    url, raw_dir = receiver
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    headers = signed_headers(private_key, b"[]")
    request_head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Length: 10000000\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(request_head.encode())
        status_line = client.makefile("rb").readline().decode()

    assert status_line.split()[1] == str(HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value)
    assert every_file(raw_dir) == []


def test_an_empty_batch_is_acknowledged_without_a_file(receiver, private_key):
    url, raw_dir = receiver

    assert post(url, b"[]", signed_headers(private_key, b"[]")) == HTTPStatus.OK
    assert every_file(raw_dir) == []


def test_a_retried_delivery_is_a_second_file_that_staging_deduplicates(receiver, private_key):
    """SendGrid retries until it gets a 2xx: the same events arrive again. Each request is
    its own file (names never collide); both files load, and the ingestion keeps both copies
    as raw rows: `base_sendgrid__email_events` marks the second copy `duplicate_id`."""
    url, raw_dir = receiver
    body = json.dumps(EVENTS).encode()

    assert post(url, body, signed_headers(private_key, body)) == HTTPStatus.OK
    assert post(url, body, signed_headers(private_key, body)) == HTTPStatus.OK

    files = raw_files(raw_dir)
    assert len(files) == 2
    assert [pq.read_table(path).column("sg_event_id").to_pylist() for path in files] == [
        ["evt-delivered-1", "evt-open-1"],
        ["evt-delivered-1", "evt-open-1"],
    ]
    with duckdb.connect() as con:
        ensure_raw_schema(con)
        loads, errors = load_table(con, raw_dir, "email_events")
        assert errors == []
        assert [load.rows for load in loads] == [2, 2]
        raw_rows, distinct_ids = con.execute(
            "select count(*), count(distinct sg_event_id) from raw.email_events"
        ).fetchone()
    assert (raw_rows, distinct_ids) == (4, 2)


def test_health_probe(receiver):
    url, _ = receiver
    with urllib.request.urlopen(url + "healthz", timeout=10) as response:
        assert response.status == HTTPStatus.OK


# ------------------------------------------------------------------- the pure function


def test_verify_and_convert_rejects_in_order(private_key, public_key):
    verifier = load_public_key(public_key)
    body = json.dumps(EVENTS).encode()
    now = time.time()
    stamp = str(int(now))
    good = sign(private_key, stamp, body)

    def status(signature, timestamp, payload=body):
        try:
            verify_and_convert(payload, signature, timestamp, verifier=verifier, now=now)
        except WebhookRejected as rejected:
            return rejected.status
        return HTTPStatus.OK

    assert status(good, stamp) == HTTPStatus.OK
    assert status(None, stamp) == HTTPStatus.UNAUTHORIZED
    assert status(good, None) == HTTPStatus.UNAUTHORIZED
    assert status("", "") == HTTPStatus.UNAUTHORIZED
    assert status(good, "yesterday") == HTTPStatus.FORBIDDEN
    assert status(good, str(int(now) + 1)) == HTTPStatus.FORBIDDEN  # the timestamp is signed
    assert status("not base64!", stamp) == HTTPStatus.FORBIDDEN
    assert status(base64.b64encode(b"not DER").decode(), stamp) == HTTPStatus.FORBIDDEN
    # within the tolerance (5 minutes) either way
    assert (
        verify_and_convert(body, good, stamp, verifier=verifier, now=now + 299)
        == verify_and_convert(body, good, stamp, verifier=verifier, now=now - 299)
        == [event_row(event) for event in EVENTS]
    )


def test_event_rows_keep_every_event_as_text():
    """Nothing is judged here (staging quarantines bad rows); values become text."""
    assert event_row({"event": "open", "timestamp": 1772366400.5, "sg_event_id": "e1"}) == {
        "sg_event_id": "e1",
        "sg_message_id": None,
        "email": None,
        "event": "open",
        "timestamp": "1772366400.5",
        "send_key": None,
    }
    legacy = {"event": "click", "unique_args": {"send_key": "u1:level_up:x"}}
    assert event_row(legacy)["send_key"] == "u1:level_up:x"


def test_a_public_key_that_is_not_one_is_refused_at_start():
    rsa_der = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for not_an_ec_key in ["bm90IGEga2V5", base64.b64encode(rsa_der).decode()]:
        with pytest.raises(ValueError, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
            load_public_key(not_an_ec_key)


def test_cli_refuses_to_start_without_a_public_key(monkeypatch):
    from orchestration.settings import get_settings

    # empty, not unset: the environment wins over a developer's .env
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["webhook", "--port", "0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in result.output
