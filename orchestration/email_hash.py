"""The keyed e-mail hash of the BI marts (`dim_users.email_hash`, the quarantine's redacted
payloads): the reference implementation of what dbt computes (macros/email_hash.sql).

    key        = HMAC-SHA256(FLYWHEEL_SECRET_KEY, "flywheel email hash")      (hex: 64 digits)
    email_hash = HMAC-SHA256(key, lower(strip(address, " ")))                 (hex: 64 digits)

The key is a sub-key for this one purpose: whoever joins on the hash gets it, never the
secret key itself, which also signs the unsubscribe links. Without the key, a list of
addresses cannot be matched to the hashes; rotating FLYWHEEL_SECRET_KEY changes every hash.
"""

import hashlib
import hmac
import os
from collections.abc import Mapping

EMAIL_HASH_KEY_LABEL = b"flywheel email hash"
# What dbt reads the key from: the DuckDB plugin (orchestration/dbt/duckdb_plugin.py) sets
# it as a session variable; libpq passes PGOPTIONS' `-c` option as a PostgreSQL setting.
EMAIL_HASH_KEY_ENV = "FLYWHEEL_EMAIL_HASH_KEY"
POSTGRES_SETTING = "flywheel.email_hash_key"


def derive_email_hash_key(secret: bytes) -> str:
    """The e-mail hash key (64 hex digits) derived from FLYWHEEL_SECRET_KEY's bytes."""
    return hmac.new(secret, EMAIL_HASH_KEY_LABEL, hashlib.sha256).hexdigest()


def normalize_email(address: str) -> str | None:
    """As dbt's `normalize_email`: spaces trimmed (SQL `trim`), lower-cased; None when empty."""
    return address.strip(" ").lower() or None


def keyed_email_hash(address: str, key_hex: str) -> str | None:
    """The `email_hash` of an address under the e-mail hash key, as the warehouse has it."""
    normalized = normalize_email(address)
    if normalized is None:
        return None
    return hmac.new(bytes.fromhex(key_hex), normalized.encode("utf-8"), hashlib.sha256).hexdigest()


def dbt_environment(key_hex: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables that give every dbt connection the key: FLYWHEEL_EMAIL_HASH_KEY
    (DuckDB) and a `-c flywheel.email_hash_key=...` option added to PGOPTIONS (PostgreSQL),
    in place of an earlier one. The key reaches the database session, never dbt's SQL text, so
    it is in no compiled model, log or run result."""
    kept: list[str] = []
    for token in (os.environ if environ is None else environ).get("PGOPTIONS", "").split():
        setting = token.removeprefix("--").removeprefix("-c")
        if setting.startswith(f"{POSTGRES_SETTING}="):
            if setting == token and kept[-1:] == ["-c"]:
                kept.pop()  # `-c flywheel.email_hash_key=...`: its `-c` goes too
            continue
        kept.append(token)
    return {
        EMAIL_HASH_KEY_ENV: key_hex,
        "PGOPTIONS": " ".join([*kept, "-c", f"{POSTGRES_SETTING}={key_hex}"]),
    }
