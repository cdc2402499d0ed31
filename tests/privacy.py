"""Looking for personal data of the raw tables in a schema of a built DuckDB warehouse.

What counts as a reversible identifier of a person:
- an e-mail address of a raw table (users, email_events, unsubscribes), as delivered, trimmed,
  normalised (trimmed and lower-cased) or URL-encoded, anywhere in a value;
- its unkeyed hash in hex (md5, sha1, sha256, sha512 of any of those forms), which anyone with
  a list of addresses can compute and match;
- a raw first name, as a whole value or a whole string of a JSON value.

Every column of every table is read (as text, lower-cased), and JSON objects are opened.
A keyed hash (HMAC) matches none of these.
"""

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb

RAW_ADDRESS_COLUMNS = (("users", "email"), ("email_events", "email"), ("unsubscribes", "email"))
HASHES = ("md5", "sha1", "sha256", "sha512")


@dataclass(frozen=True, order=True)
class Finding:
    table: str
    column: str
    kind: str  # address | unkeyed_hash | first_name
    needle: str


def personal_needles(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(kind, lower-cased text) of every raw address, its unkeyed hashes and every first name,
    from the raw tables of the warehouse attached as `warehouse`."""
    needles: set[tuple[str, str]] = set()
    for table, column in RAW_ADDRESS_COLUMNS:
        rows = con.execute(
            f"select distinct {column} from warehouse.raw.{table} where {column} is not null"
        ).fetchall()
        for (address,) in rows:
            forms = {address, address.strip(), address.strip().lower()} - {""}
            for form in forms:
                needles.add(("address", form.lower()))
                needles.add(("address", quote(form, safe="").lower()))
                for name in HASHES:
                    digest = hashlib.new(name, form.encode("utf-8")).hexdigest()
                    needles.add(("unkeyed_hash", digest))
    names = con.execute(
        "select distinct lower(trim(first_name)) from warehouse.raw.users "
        "where nullif(trim(first_name), '') is not null"
    ).fetchall()
    needles |= {("first_name", name) for (name,) in names}
    return needles


def _json_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _json_strings(item)]
    return []


def find_personal_data(warehouse: Path, schema: str) -> list[Finding]:
    """Every (table, column, kind, needle) of `schema` that holds raw personal data."""
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as warehouse (read_only)")
        con.execute("create table needles (kind varchar, needle varchar)")
        con.executemany("insert into needles values (?, ?)", sorted(personal_needles(con)))
        con.execute("create table found (table_name varchar, column_name varchar, value varchar)")
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_catalog = 'warehouse' and table_schema = ? order by all",
            [schema],
        ).fetchall()
        assert columns, f"schema {schema} has no tables"
        for table, column in columns:
            con.execute(
                f'insert into found select distinct ?, ?, lower(cast("{column}" as varchar)) '
                f'from warehouse.{schema}."{table}" where "{column}" is not null',
                [table, column],
            )
        documents = con.execute(
            "select table_name, column_name, value from found where value like '{%'"
        ).fetchall()
        strings = []
        for table, column, value in documents:
            with contextlib.suppress(ValueError):  # text that only starts like JSON
                strings += [(table, column, text) for text in _json_strings(json.loads(value))]
        con.executemany("insert into found values (?, ?, trim(?))", strings)
        rows = con.execute(
            r"""
            with
            with_at as (
                select * from found where contains(value, '@') or contains(value, '%40')
            ),
            hex_runs as (
                select
                    table_name,
                    column_name,
                    unnest(regexp_extract_all(value, '[0-9a-f]{32,}')) as run
                from found
            )
            select found.table_name, found.column_name, kind, needle
            from found join needles on kind = 'first_name' and value = needle
            union
            select table_name, column_name, kind, needle
            from hex_runs join needles on kind = 'unkeyed_hash' and run = needle
            union
            select table_name, column_name, kind, needle
            from with_at join needles on kind = 'address' and contains(value, needle)
            union
            select table_name, column_name, kind, needle
            from found join needles on kind = 'address'
                and not contains(needle, '@') and not contains(needle, '%40')
                and contains(value, needle)
            """
        ).fetchall()
    return sorted(Finding(*row) for row in rows)
