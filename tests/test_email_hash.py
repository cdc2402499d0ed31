"""The keyed e-mail hash: the HMAC macro against Python's hmac on DuckDB, how the key reaches
dbt (and nothing else), and the scanner that looks for reversible identifiers in a schema."""

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.email_hash import (
    EMAIL_HASH_KEY_ENV,
    EMAIL_HASH_KEY_LABEL,
    dbt_environment,
    keyed_email_hash,
)
from orchestration.settings import DEV_SECRET_KEY, REPO_ROOT, Settings
from tests.hmac_cases import assert_hmacs_match_python, dbt_show_arguments, shown_rows
from tests.privacy import Finding, find_personal_data

DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
SECRET = "a-secret-key-of-more-than-32-characters"


def dbt_show(work_dir: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    command = [
        str(DBT),
        *dbt_show_arguments(),
        "--target",
        "duckdb",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    return subprocess.run(command, env=environment, capture_output=True, text=True)


def test_the_key_is_a_sub_key_of_the_secret_key():
    settings = Settings(_env_file=None, FLYWHEEL_SECRET_KEY=SECRET)
    expected = hmac.new(SECRET.encode(), EMAIL_HASH_KEY_LABEL, hashlib.sha256).hexdigest()
    assert settings.email_hash_key() == expected
    assert bytes.fromhex(expected) != settings.unsubscribe_secret()
    development = Settings(_env_file=None).email_hash_key()
    dev_key = hmac.new(DEV_SECRET_KEY.encode(), EMAIL_HASH_KEY_LABEL, hashlib.sha256)
    assert development == dev_key.hexdigest()
    assert development != expected  # rotating the secret key changes every hash
    address = "Ann@Example.com "
    assert keyed_email_hash(address, expected) != keyed_email_hash(address, development)
    assert keyed_email_hash(address, expected) == keyed_email_hash("ann@example.com", expected)
    assert keyed_email_hash("  ", expected) is None


def test_dbt_by_hand_gets_the_key_through_the_environment():
    """What to set for dbt's sessions by hand: DuckDB's plugin variable and a PostgreSQL
    setting in PGOPTIONS, which keeps the options already there."""
    environment = dbt_environment(
        "ab" * 32, {"PGOPTIONS": "-c search_path=x -c flywheel.email_hash_key=old"}
    )
    assert environment == {
        EMAIL_HASH_KEY_ENV: "ab" * 32,
        "PGOPTIONS": f"-c search_path=x -c flywheel.email_hash_key={'ab' * 32}",
    }


def without_keys(environment: dict[str, str]) -> dict[str, str]:
    """The environment without any key or the mark of a dbt run by Dagster."""
    hidden = (EMAIL_HASH_KEY_ENV, "FLYWHEEL_SECRET_KEY", "DAGSTER_DBT_CLI")
    return {name: value for name, value in environment.items() if name not in hidden}


def test_the_hmac_macro_matches_python_on_duckdb(tmp_path):
    """Through the profile's plugin: the session key is the one derived from
    FLYWHEEL_SECRET_KEY, as the settings derive it, and it is in none of the files dbt writes
    (its SQL reads the session variable instead)."""
    key = Settings(_env_file=None, FLYWHEEL_SECRET_KEY=SECRET).email_hash_key()
    environment = without_keys(dict(os.environ)) | {
        "FLYWHEEL_SECRET_KEY": SECRET,
        "FLYWHEEL_WAREHOUSE": str(tmp_path / "hmac.duckdb"),
    }
    result = dbt_show(tmp_path, environment)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert_hmacs_match_python(shown_rows(result.stdout), key)
    written = [path for path in tmp_path.rglob("*") if path.is_file() and path.suffix != ".duckdb"]
    assert written
    assert [path for path in written if key in path.read_text(errors="replace")] == []


def test_without_the_key_dbt_says_what_to_do(tmp_path):
    environment = without_keys(dict(os.environ))
    result = dbt_show(tmp_path, environment | {"FLYWHEEL_WAREHOUSE": str(tmp_path / "h.duckdb")})
    assert result.returncode != 0
    assert "the e-mail hash key is not set" in result.stdout
    assert "flywheel email-hash-key" in result.stdout


@pytest.fixture
def planted_warehouse(tmp_path) -> Path:
    """Raw personal data, and a schema with each kind of reversible identifier planted."""
    path = tmp_path / "planted.duckdb"
    address, key = " Ann.Lee@Example.com", "cd" * 32
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.users (email varchar, first_name varchar)")
        con.execute("insert into raw.users values (?, 'Grace'), ('not-an-email', null)", [address])
        con.execute("create table raw.email_events (email varchar)")
        con.execute("create table raw.unsubscribes (email varchar)")
        con.execute("insert into raw.unsubscribes values ('bob@example.org')")
        con.execute("create schema clean")
        con.execute("create table clean.users (id integer, email_hash varchar, payload varchar)")
        con.execute(
            "insert into clean.users values (1, ?, ?)",
            [keyed_email_hash(address, key), '{"first_name_hash": "x", "role": "Grace Hopper"}'],
        )
        con.execute("create schema leaky")
        con.execute("create table leaky.hashes (md5 varchar, sha256 varchar, n integer)")
        con.execute(
            "insert into leaky.hashes values (?, upper(?), 1)",
            [
                hashlib.md5(b"ann.lee@example.com").hexdigest(),
                hashlib.sha256(address.encode()).hexdigest(),
            ],
        )
        con.execute("create table leaky.texts (payload varchar, link varchar, name varchar)")
        con.execute(
            "insert into leaky.texts values "
            """('{"user": {"first_name": " grace"}}', 'https://x.test/?e=bob%40example.org', """
            "'Not-An-Email')"
        )
    return path


def test_the_scanner_finds_every_kind_of_reversible_identifier(planted_warehouse):
    assert find_personal_data(planted_warehouse, "clean") == []
    found = find_personal_data(planted_warehouse, "leaky")
    assert {(finding.table, finding.column, finding.kind) for finding in found} == {
        ("hashes", "md5", "unkeyed_hash"),
        ("hashes", "sha256", "unkeyed_hash"),
        ("texts", "payload", "first_name"),
        ("texts", "link", "address"),
        ("texts", "name", "address"),
    }
    assert Finding("texts", "name", "address", "not-an-email") in found
