"""The SendGrid Event Webhook receiver: signed requests in, raw email_events files out.

A real EC P-256 key pair is generated per test module (with `cryptography`, which the
`sendgrid` library's verifier uses) and requests are signed exactly as SendGrid signs them:
ECDSA-SHA256 over the timestamp header followed by the body, base64 DER. The receiver runs
on a free local port in a thread and is called over real HTTP.
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orchestration.cli import main
from orchestration.emails.groups import email_groups
from orchestration.emails.message import RenderedEmail
from orchestration.emails.preview import sample_payloads
from orchestration.emails.render import render_email
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
from orchestration.settings import Settings

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
    {
        "email": "ada@example.com",
        "timestamp": 1772366460,
        "event": "click",
        "sg_event_id": "evt-click-1",
        "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
        "url": "https://app.flywheel.example.com/dashboard?utm_content=open_dashboard",
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
            "url": None,
        },
        {
            "sg_event_id": "evt-open-1",
            "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
            "email": "ada@example.com",
            "event": "open",
            "timestamp": "1772366400",
            "send_key": "usr_000001:weekly_report:2026-W09",
            "url": None,
        },
        {
            "sg_event_id": "evt-click-1",
            "sg_message_id": "14c5d75ce93.filterdrecv-1-0",
            "email": "ada@example.com",
            "event": "click",
            "timestamp": "1772366460",
            "send_key": "usr_000001:weekly_report:2026-W09",
            "url": "https://app.flywheel.example.com/dashboard?utm_content=open_dashboard",
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
        ["evt-delivered-1", "evt-open-1", "evt-click-1"],
        ["evt-delivered-1", "evt-open-1", "evt-click-1"],
    ]
    with duckdb.connect() as con:
        ensure_raw_schema(con)
        loads = load_table(con, raw_dir, "email_events")
        assert [(load.status, load.rows) for load in loads] == [("loaded", 3), ("loaded", 3)]
        raw_rows, distinct_ids = con.execute(
            "select count(*), count(distinct sg_event_id) from raw.email_events"
        ).fetchone()
    assert (raw_rows, distinct_ids) == (6, 3)


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
        "url": None,
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
    # empty, not unset: the environment wins over a developer's .env
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
    result = CliRunner().invoke(main, ["webhook", "--port", "0"])
    assert result.exit_code != 0
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in result.output


# ------------------------------------------------------------------ the unsubscribe endpoint

SECRET_KEY = "unsubscribe-test-secret-0123456789abcdef-0123"
UNSUBSCRIBE_SETTINGS = Settings(_env_file=None, FLYWHEEL_SECRET_KEY=SECRET_KEY)
PAGE_TITLES = {"en": "E-mail preferences", "fr": "Préférences d’e-mails", "ru": "Настройки писем"}


def unsubscribe_link(template: str, locale: str, base_url: str) -> tuple[str, RenderedEmail]:
    """The unsubscribe link of a real rendered e-mail, pointed at the test's server."""
    sample = next(p for _, _, p in sample_payloads() if p["template"] == template)
    rendered = render_email({**sample, "locale": locale}, UNSUBSCRIBE_SETTINGS)
    link = urllib.parse.urlsplit(rendered.headers["List-Unsubscribe"].strip("<>"))
    return f"{base_url.rstrip('/')}{link.path}?{link.query}", rendered


@pytest.fixture
def unsubscribe_server(tmp_path, public_key):
    """`flywheel webhook`'s server with its unsubscribe endpoint: (base URL, raw directory)."""
    raw_dir = tmp_path / "raw"
    server = make_server(
        "127.0.0.1",
        0,
        raw_dir=raw_dir,
        public_key=public_key,
        unsubscribe_secret=UNSUBSCRIBE_SETTINGS.unsubscribe_secret(),
        brand="Flywheel",
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}", raw_dir
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def request(url: str, body: bytes | None = None, content_type: str | None = None):
    """(status, headers, text) of a GET, or of a POST when there is a body."""
    headers = {"Content-Type": content_type} if content_type else {}
    call = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def unsubscribes_written(raw_dir: Path) -> list[tuple[str, str | None]]:
    """(email, group) of every raw unsubscribes row written, checking each timestamp."""
    rows = []
    for path in sorted((raw_dir / "unsubscribes").rglob("*.parquet")):
        table = pq.read_table(path)
        assert table.column_names == ["email", "unsubscribed_at", "group"]
        for row in table.to_pylist():
            written_at = datetime.fromisoformat(row["unsubscribed_at"])
            assert abs(datetime.now(UTC) - written_at) < timedelta(minutes=5)
            rows.append((row["email"], row["group"]))
    return rows


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("locale", ["en", "fr", "ru"])
def test_the_preferences_page_in_the_emails_language(unsubscribe_server, locale):
    base_url, raw_dir = unsubscribe_server
    url, rendered = unsubscribe_link("weekly_report", locale, base_url)

    status, headers, page = request(url)

    assert status == HTTPStatus.OK
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert f'<html lang="{locale}"' in page and PAGE_TITLES[locale] in page
    boxes = re.findall(r'<input type="checkbox" name="group" value="(\w+)"( checked)?>', page)
    assert [group for group, _ in boxes] == list(email_groups())
    assert [group for group, checked in boxes if checked] == ["reports"]
    assert rendered.to_email in page
    if locale != "en":  # nothing left in English
        for english in ("Unsubscribe from", "Weekly reports", "Which e-mails"):
            assert english not in page
    assert every_file(raw_dir) == []  # looking changes nothing


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"List-Unsubscribe=One-Click", FORM),
        (
            b'--b1\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b1--\r\n",
            "multipart/form-data; boundary=b1",
        ),
    ],
    ids=["urlencoded", "multipart"],
)
def test_one_click_unsubscribes_from_exactly_the_emails_group(
    unsubscribe_server, body, content_type
):
    base_url, raw_dir = unsubscribe_server
    url, rendered = unsubscribe_link("level_up", "fr", base_url)

    status, _, text = request(url, body, content_type)

    assert status == HTTPStatus.OK and text.strip() == "unsubscribed"
    assert unsubscribes_written(raw_dir) == [(rendered.to_email, "achievements")]


def test_the_form_unsubscribes_from_the_ticked_groups_or_from_everything(unsubscribe_server):
    base_url, raw_dir = unsubscribe_server
    url, rendered = unsubscribe_link("feature_adoption_prompt", "ru", base_url)
    address = rendered.to_email

    status, _, page = request(url, b"action=groups&group=tips&group=reports", FORM)
    assert status == HTTPStatus.OK
    assert "Еженедельные отчёты" in page and "Советы, как сэкономить время" in page
    assert sorted(unsubscribes_written(raw_dir)) == [(address, "reports"), (address, "tips")]

    status, _, page = request(url, b"action=groups", FORM)  # nothing ticked
    assert status == HTTPStatus.OK and "ничего не изменилось" in page
    assert len(unsubscribes_written(raw_dir)) == 2

    status, _, page = request(url, b"action=all", FORM)
    assert status == HTTPStatus.OK and "больше не будет присылать вам писем" in page
    assert unsubscribes_written(raw_dir)[-1] == (address, None)  # null group: every e-mail


def test_a_tampered_or_missing_token_is_refused(unsubscribe_server):
    base_url, raw_dir = unsubscribe_server
    url, _ = unsubscribe_link("level_up", "en", base_url)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    other_key = Settings(_env_file=None, FLYWHEEL_SECRET_KEY="another-key-" + "x" * 40)
    sample = next(p for _, _, p in sample_payloads() if p["template"] == "level_up")
    foreign = render_email(sample, other_key).headers["List-Unsubscribe"].strip("<>")
    foreign_token = urllib.parse.parse_qs(urllib.parse.urlsplit(foreign).query)["token"][0]

    for bad in (tampered, foreign_token, token[:-3], "x"):
        bad_url = f"{base_url}/unsubscribe?token={bad}"
        status, _, text = request(bad_url)
        assert status == HTTPStatus.FORBIDDEN and "not valid" in text
        status, _, _ = request(bad_url, b"List-Unsubscribe=One-Click", FORM)
        assert status == HTTPStatus.FORBIDDEN
    assert request(f"{base_url}/unsubscribe")[0] == HTTPStatus.BAD_REQUEST
    assert request(url, b"action=groups&group=newsletters", FORM)[0] == HTTPStatus.BAD_REQUEST
    assert every_file(raw_dir) == []


def test_unsubscribes_load_as_raw_rows_the_pipeline_reads(unsubscribe_server, tmp_path):
    base_url, raw_dir = unsubscribe_server
    url, rendered = unsubscribe_link("streak_milestone", "en", base_url)
    assert request(url, b"List-Unsubscribe=One-Click", FORM)[0] == HTTPStatus.OK

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_schema(con)
    load_table(con, raw_dir, "unsubscribes")
    rows = con.execute(
        'select email, "group", cast(unsubscribed_at as timestamptz) is not null '
        "from raw.unsubscribes"
    ).fetchall()
    assert rows == [(rendered.to_email, "achievements", True)]


def test_flywheel_webhook_serves_the_unsubscribe_page(tmp_path, public_key):
    """The real command: its page and one-click POST, on the path of FLYWHEEL_UNSUBSCRIBE_URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLYWHEEL_", "SENDGRID_"))},
        "FLYWHEEL_RAW_DIR": str(tmp_path / "raw"),
        "FLYWHEEL_SECRET_KEY": SECRET_KEY,
        "FLYWHEEL_UNSUBSCRIBE_URL": "https://mail.example.com/email/stop?token={token}",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
    }
    command = [Path(sys.executable).parent / "flywheel", "webhook", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(f"{base_url}/healthz")[0] == HTTPStatus.OK:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.2)
        sample = next(p for _, _, p in sample_payloads() if p["template"] == "onboarding_stuck")
        settings = Settings(
            _env_file=None,
            FLYWHEEL_SECRET_KEY=SECRET_KEY,
            FLYWHEEL_UNSUBSCRIBE_URL=environment["FLYWHEEL_UNSUBSCRIBE_URL"],
        )
        rendered = render_email({**sample, "locale": "fr"}, settings)
        link = urllib.parse.urlsplit(rendered.headers["List-Unsubscribe"].strip("<>"))
        assert link.path == "/email/stop"
        url = f"{base_url}{link.path}?{link.query}"

        status, _, page = request(url)
        assert status == HTTPStatus.OK and PAGE_TITLES["fr"] in page
        assert request(url, b"List-Unsubscribe=One-Click", FORM)[0] == HTTPStatus.OK
        assert unsubscribes_written(tmp_path / "raw") == [(rendered.to_email, "onboarding")]
    finally:
        process.terminate()
        process.wait(timeout=10)
