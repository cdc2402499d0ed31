"""Load raw files into the warehouse, incrementally and idempotently.

Every contract column lands as text exactly as it was in the file: typing and validation
happen in dbt's staging layer, where a bad value becomes a quarantined row instead of a failed
load. A file is loaded in one transaction together with its entry in `raw._loaded_files`, so a
crash leaves either all of a file or none of it, and a file already loaded is skipped.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from orchestration.ingestion.contract import RAW_TABLES, SUPPORTED_SUFFIXES, RawTable

LEDGER = "raw._loaded_files"


class RawFileError(Exception):
    """A file under the raw directory that is not a valid table of the contract."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


@dataclass(frozen=True)
class FileLoad:
    table: str
    file: str
    status: Literal["loaded", "skipped"]
    rows: int


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, one text table per contract table and the load ledger."""
    con.execute("create schema if not exists raw")
    for table in RAW_TABLES.values():
        columns = ", ".join(f'"{column}" varchar' for column in table.all_columns)
        con.execute(
            f"create table if not exists raw.{table.name} ({columns}, "
            "_source_file varchar not null, _source_row bigint not null, "
            "_loaded_at timestamp not null)"
        )
    con.execute(
        f"create table if not exists {LEDGER} ("
        "table_name varchar not null, file_path varchar not null, sha256 varchar not null, "
        "row_count bigint not null, loaded_at timestamp not null, "
        "primary key (table_name, file_path))"
    )


def table_files(raw_dir: Path, table: str) -> Iterator[Path]:
    """The files of one table, in name order (hidden and `_`-prefixed files are ignored)."""
    folder = raw_dir / table
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")):
            yield path


def load_table(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, table: str
) -> tuple[list[FileLoad], list[RawFileError]]:
    """Load every new file of one table; a bad file is reported and the others still load."""
    loads: list[FileLoad] = []
    errors: list[RawFileError] = []
    for path in table_files(raw_dir, table):
        try:
            loads.append(load_file(con, raw_dir, RAW_TABLES[table], path))
        except RawFileError as error:
            errors.append(error)
    return loads, errors


def load_file(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, table: RawTable, path: Path
) -> FileLoad:
    relative = path.relative_to(raw_dir).as_posix()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = con.execute(
        f"select sha256 from {LEDGER} where table_name = ? and file_path = ?",
        [table.name, relative],
    ).fetchone()
    if loaded is not None:
        if loaded[0] != digest:
            raise RawFileError(
                relative,
                "changed after it was loaded; raw files are append-only, "
                "so write the new rows to a new file",
            )
        return FileLoad(table.name, relative, "skipped", 0)

    relation = _read_relation(con, path, relative)
    present = set(relation.columns)
    missing = [column for column in table.columns if column not in present]
    if missing:
        raise RawFileError(
            relative,
            f"is not a valid '{table.name}' file: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(relation.columns) or 'none'})",
        )
    selected = ", ".join(
        f'cast("{column}" as varchar) as "{column}"'
        if column in present
        else f'cast(null as varchar) as "{column}"'
        for column in table.all_columns
    )
    con.execute("begin transaction")
    try:
        con.register("raw_file", relation)
        rows = con.execute(
            f"insert into raw.{table.name} "
            f"select {selected}, ? as _source_file, "
            "row_number() over () as _source_row, "
            "cast(now() at time zone 'UTC' as timestamp) as _loaded_at "
            "from raw_file",
            [relative],
        ).fetchone()[0]
        con.execute(
            f"insert into {LEDGER} "
            "values (?, ?, ?, ?, cast(now() at time zone 'UTC' as timestamp))",
            [table.name, relative, digest, rows],
        )
        con.execute("commit")
    except duckdb.Error as error:
        con.execute("rollback")
        raise RawFileError(relative, f"could not be read: {_first_line(error)}") from error
    finally:
        con.unregister("raw_file")
    return FileLoad(table.name, relative, "loaded", rows)


def _read_relation(
    con: duckdb.DuckDBPyConnection, path: Path, relative: str
) -> duckdb.DuckDBPyRelation:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise RawFileError(
            relative, f"unsupported file type '{suffix}' (expected {', '.join(SUPPORTED_SUFFIXES)})"
        )
    try:
        if suffix == ".parquet":
            return con.read_parquet(str(path))
        return con.read_csv(str(path), header=True, all_varchar=True)
    except duckdb.Error as error:
        raise RawFileError(relative, f"could not be read: {_first_line(error)}") from error


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
