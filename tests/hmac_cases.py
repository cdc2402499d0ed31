"""Cases for the HMAC macro (dbt_project/macros/cross_db/hmac_sha256.sql) and the e-mail hash
built on it, checked against Python's hmac on DuckDB (tests/test_email_hash.py) and on
PostgreSQL (tests/test_postgres.py) through `dbt show --inline`."""

import hashlib
import hmac
import json

from orchestration.email_hash import keyed_email_hash

# RFC 4231's keys (20 bytes, 'Jefe', 131 bytes: longer than the block, hashed first), and
# keys on each side of SHA-256's 64-byte block.
KEYS = (b"k", b"\x0b" * 20, b"Jefe", bytes(range(32)), b"\xaa" * 64, b"\xaa" * 65, b"\xaa" * 131)
MESSAGES = (
    "Hi There",  # RFC 4231, case 1
    "what do ya want for nothing?",  # RFC 4231, case 2
    "",
    "   ",
    " Zoë@Exämple.COM ",
    "o'brien@example.com",
    "x" * 200,
)
CASES = [(message, key.hex()) for key in KEYS for message in MESSAGES] + [(None, KEYS[3].hex())]


def _literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def hmac_query() -> str:
    """Every case with the macro's HMAC and the e-mail hash of the message under the session's
    key, for `dbt show --inline`."""
    values = ",\n".join(f"({_literal(message)}, {_literal(key)})" for message, key in CASES)
    return (
        "select message, key_hex, "
        "{{ hmac_sha256('message', 'key_hex') }} as mac, "
        "{{ email_hash('message') }} as email_hash "
        f"from (values {values}) as cases (message, key_hex)"
    )


def dbt_show_arguments() -> list[str]:
    """`dbt show` of hmac_query(), every row as JSON in the log (read by shown_rows)."""
    show = ["show", "--inline", hmac_query(), "--output", "json", "--limit", "-1"]
    return [*show, "--log-format", "json"]


def shown_rows(stdout: str) -> list[dict]:
    """The rows `dbt show --output json --log-format json` printed."""
    for line in stdout.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event["info"]["name"] == "ShowNode":
                return json.loads(event["data"]["preview"])
    raise AssertionError(f"dbt showed no rows:\n{stdout[-4000:]}")


def assert_hmacs_match_python(rows: list[dict], email_hash_key: str) -> None:
    assert sorted((row["message"] or "", row["key_hex"]) for row in rows) == sorted(
        (message or "", key) for message, key in CASES
    )
    for row in rows:
        message = row["message"]
        if message is None:
            assert row["mac"] is None and row["email_hash"] is None, row
            continue
        key = bytes.fromhex(row["key_hex"])
        assert row["mac"] == hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()
        assert row["email_hash"] == keyed_email_hash(message, email_hash_key), row
