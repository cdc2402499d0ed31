"""Load raw files into the warehouse, incrementally and idempotently.

Every contract column lands as text exactly as it was in the file: typing and validation
happen in dbt's staging layer, where a bad value becomes a quarantined row instead of a failed
load. A file is loaded in one transaction together with its entry in `raw._loaded_files`, so a
crash leaves either all of a file or none of it, and a file already loaded is skipped.

A file that is not a table of the contract (unreadable, missing columns, another format) is
set aside: the ledger records it as `rejected` with the reason, nothing of it is loaded, and
the other files load as usual. So is a loaded file whose content changed since (`changed`):
its loaded rows stay, the change is not loaded. Files are never moved or deleted.

A rejected file is tried again at every load, and the ledger is written only when the outcome
changes: it loads as soon as it is corrected (new content, same path), or once a cause on the
warehouse's side is gone. A changed file goes back to `loaded` when its content is restored.

DuckDB reads and checks every file, whatever the warehouse: only the write differs. A
`RawWriter` holds the warehouse side (DuckDB: `DuckDBRawWriter`, PostgreSQL:
`PostgresRawWriter`); the functions below take a writer or, for DuckDB, the connection itself.
"""

import hashlib
import io
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import duckdb
import psycopg2
import pyarrow.csv

from orchestration.ingestion.contract import RAW_TABLES, SUPPORTED_SUFFIXES, RawTable

LEDGER = "raw._loaded_files"

# Every raw row names the file and line it came from, so each staged or quarantined row can be
# traced back to them. The same DDL on DuckDB and PostgreSQL. A file's rows, as `_file_rows()`
# gives them, fill every column but `_loaded_at`: the time (UTC) the load's transaction
# started, which the column's default gives on both (DuckDB's writer also sets it, for tables
# created before the default existed).
_LOADED_AT = "(now() at time zone 'UTC')"
_METADATA_DDL = (
    "_source_file varchar not null, _source_row bigint not null, "
    f"_loaded_at timestamp not null default {_LOADED_AT}"
)
# One row per file the loader has judged (docs/architecture.md, "Raw input contract"):
# status  loaded: its rows are in raw.<table>; sha256 is the content loaded.
#         rejected: not a table of the contract (`reason`); nothing of it is loaded; sha256 is
#           the content rejected ("" when the file could not be read at all), loaded_at the
#           time it was rejected.
#         changed: loaded, then its content changed (`reason`); the loaded rows stay, sha256 is
#           still the content loaded.
_LEDGER_DDL = (
    f"create table if not exists {LEDGER} ("
    "table_name varchar not null, file_path varchar not null, sha256 varchar not null, "
    "row_count bigint not null, loaded_at timestamp not null, "
    "status varchar not null default 'loaded' "
    "check (status in ('loaded', 'rejected', 'changed')), reason varchar, "
    "primary key (table_name, file_path))"
)
# A ledger from before `status` and `reason`: every row in it was loaded. (DuckDB cannot add a
# NOT NULL column with IF NOT EXISTS; the writers always set the status.)
_LEDGER_MIGRATION = (
    f"alter table {LEDGER} add column if not exists status varchar default 'loaded'",
    f"alter table {LEDGER} add column if not exists reason varchar",
)
_LEDGER_COLUMNS = "table_name, file_path, sha256, row_count, loaded_at, status, reason"
# Upsert of a ledger row: a file loaded or rejected again replaces its earlier rejection.
_LEDGER_UPSERT = (
    "on conflict (table_name, file_path) do update set sha256 = excluded.sha256, "
    "row_count = excluded.row_count, loaded_at = excluded.loaded_at, "
    "status = excluded.status, reason = excluded.reason"
)
# PostgreSQL has no try_cast: the freshness check reads the raw events' times through this
# (orchestration/quality/suites/events.py), on every run, dbt's staging functions or not.
_TRY_TIMESTAMPTZ = """
create or replace function raw.try_timestamptz(value text)
returns timestamptz language plpgsql stable parallel safe as $fn$
begin
    return value::timestamptz;
exception when others then
    return null;
end;
$fn$
"""
CHANGED_AFTER_LOAD = (
    "changed after it was loaded; raw files are append-only, so write the new rows to a new "
    "file (the rows loaded before stay; restore the file's content to clear this)"
)


class RawFileError(Exception):
    """A file under the raw directory that is not a valid table of the contract."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


class LedgerEntry(NamedTuple):
    """A file's row in the load ledger."""

    sha256: str
    status: Literal["loaded", "rejected", "changed"]
    reason: str | None


@dataclass(frozen=True)
class FileLoad:
    """What one load did with one file.

    status  loaded: its rows were loaded now; skipped: already loaded, unchanged;
            rejected: not a table of the contract (see `reason`), nothing of it loaded;
            changed: loaded before, and its content changed since: the change is not loaded.
    `reported_before`: a rejected or changed file that an earlier load had already set aside
    for the same reason, unchanged since.
    """

    table: str
    file: str
    status: Literal["loaded", "skipped", "rejected", "changed"]
    rows: int = 0
    reason: str | None = None
    reported_before: bool = False

    @property
    def set_aside(self) -> bool:
        """Rejected or changed: in the folder, but not (or not as it is now) in the warehouse."""
        return self.status in ("rejected", "changed")

    def __str__(self) -> str:
        if self.set_aside:
            return f"{self.file} ({self.status}): {self.reason}"
        return f"{self.file} ({self.status}, {self.rows} row(s))"


class RawWriter(Protocol):
    """The warehouse side of a load: the raw schema, the ledger and the write of one file."""

    # Errors of `append` that mean the file cannot be loaded (it fails alone, by name).
    file_errors: tuple[type[Exception], ...]
    # What this warehouse's raw schema needs besides the tables.
    schema_ddl: tuple[str, ...]

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection that reads the files."""
        ...

    def execute(self, statement: str) -> None:
        """Run one statement (DDL) in its own transaction."""
        ...

    def ledger_entries(self, table: str) -> dict[str, LedgerEntry]:
        """The ledger's rows of one table, by file path."""
        ...

    def row_count(self, table: str) -> int:
        """How many rows `raw.<table>` holds."""
        ...

    def append(self, table: RawTable, rows: duckdb.DuckDBPyRelation, ledger_row: tuple) -> int:
        """Insert a file's rows and its ledger row in one transaction; the number of rows.

        `ledger_row` is (table_name, file_path, sha256); the writer adds the row count and the
        load time, and the row replaces the file's earlier rejection if there is one. Any error
        rolls everything back.
        """
        ...

    def reject(self, table: str, file: str, sha256: str, reason: str) -> None:
        """Record a file as rejected (replacing its earlier rejection), with no rows."""
        ...

    def mark(self, table: str, file: str, status: str, reason: str | None) -> None:
        """Set the status and reason of a loaded file's row (loaded <-> changed)."""
        ...

    def forget(self, table: str, file: str) -> None:
        """Delete a file's ledger row (a rejected file that is no longer in the folder)."""
        ...


class DuckDBRawWriter:
    """Writes into a DuckDB warehouse, through the same connection that reads the files."""

    file_errors = (duckdb.Error,)
    schema_ddl = ()

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        return self.con

    def execute(self, statement: str) -> None:
        self.con.execute(statement)

    def ledger_entries(self, table: str) -> dict[str, LedgerEntry]:
        rows = self.con.execute(
            f"select file_path, sha256, status, reason from {LEDGER} where table_name = ?",
            [table],
        ).fetchall()
        return {file: LedgerEntry(*entry) for file, *entry in rows}

    def row_count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from raw.{table}").fetchone()[0]

    def reject(self, table: str, file: str, sha256: str, reason: str) -> None:
        self.con.execute(
            f"insert into {LEDGER} ({_LEDGER_COLUMNS}) "
            f"values (?, ?, ?, 0, {_LOADED_AT}, 'rejected', ?) {_LEDGER_UPSERT}",
            [table, file, sha256, reason],
        )

    def mark(self, table: str, file: str, status: str, reason: str | None) -> None:
        self.con.execute(
            f"update {LEDGER} set status = ?, reason = ? where table_name = ? and file_path = ?",
            [status, reason, table, file],
        )

    def forget(self, table: str, file: str) -> None:
        self.con.execute(
            f"delete from {LEDGER} where table_name = ? and file_path = ?", [table, file]
        )

    def append(self, table: RawTable, rows: duckdb.DuckDBPyRelation, ledger_row: tuple) -> int:
        self.con.execute("begin transaction")
        try:
            self.con.register("raw_file_rows", rows)
            count = self.con.execute(
                f"insert into raw.{table.name} ({_column_list(table)}, _loaded_at) "
                f"select *, {_LOADED_AT} from raw_file_rows"
            ).fetchone()[0]
            self.con.execute(
                f"insert into {LEDGER} ({_LEDGER_COLUMNS}) "
                f"values (?, ?, ?, ?, {_LOADED_AT}, 'loaded', null) {_LEDGER_UPSERT}",
                [*ledger_row, count],
            )
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        finally:
            self.con.unregister("raw_file_rows")
        return count


class PostgresRawWriter:
    """Writes into PostgreSQL through a psycopg2 connection; an in-memory DuckDB reads.

    Each file's rows go through PostgreSQL's COPY as CSV, in the transaction that also
    writes the ledger row. CSV keeps null and the empty string apart: a null is an unquoted
    empty field, every text value is quoted. PostgreSQL's text cannot hold a NUL character:
    a file with one fails (DuckDB would load it).
    """

    file_errors = (duckdb.Error, psycopg2.DataError)
    schema_ddl = (_TRY_TIMESTAMPTZ,)

    def __init__(self, connection) -> None:
        """`connection`: an open psycopg2 connection, not in autocommit mode."""
        self.connection = connection
        self.connection.set_client_encoding("UTF8")  # what the CSV of `append` is in
        self._reader = duckdb.connect()

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        return self._reader

    def execute(self, statement: str) -> None:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(statement)

    def ledger_entries(self, table: str) -> dict[str, LedgerEntry]:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                f"select file_path, sha256, status, reason from {LEDGER} where table_name = %s",
                [table],
            )
            rows = cursor.fetchall()
        return {file: LedgerEntry(*entry) for file, *entry in rows}

    def row_count(self, table: str) -> int:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(f"select count(*) from raw.{table}")
            return cursor.fetchone()[0]

    def reject(self, table: str, file: str, sha256: str, reason: str) -> None:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                f"insert into {LEDGER} ({_LEDGER_COLUMNS}) "
                f"values (%s, %s, %s, 0, {_LOADED_AT}, 'rejected', %s) {_LEDGER_UPSERT}",
                [table, file, sha256, reason],
            )

    def mark(self, table: str, file: str, status: str, reason: str | None) -> None:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                f"update {LEDGER} set status = %s, reason = %s "
                "where table_name = %s and file_path = %s",
                [status, reason, table, file],
            )

    def forget(self, table: str, file: str) -> None:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                f"delete from {LEDGER} where table_name = %s and file_path = %s", [table, file]
            )

    def append(self, table: RawTable, rows: duckdb.DuckDBPyRelation, ledger_row: tuple) -> int:
        data = rows.to_arrow_table()  # reads the file: a bad file fails before the transaction
        buffer = io.BytesIO()
        pyarrow.csv.write_csv(
            data,
            buffer,
            pyarrow.csv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        buffer.seek(0)
        # psycopg2: the `with` block commits, or rolls back on an exception.
        with self.connection, self.connection.cursor() as cursor:
            cursor.copy_expert(
                f"copy raw.{table.name} ({_column_list(table)}) from stdin with (format csv)",
                buffer,
            )
            cursor.execute(
                f"insert into {LEDGER} ({_LEDGER_COLUMNS}) "
                f"values (%s, %s, %s, %s, {_LOADED_AT}, 'loaded', null) {_LEDGER_UPSERT}",
                [*ledger_row, data.num_rows],
            )
        return data.num_rows

    def close(self) -> None:
        self._reader.close()


@contextmanager
def postgres_raw_writer(**connect_args) -> Iterator[PostgresRawWriter]:
    """A writer on a new PostgreSQL connection (`psycopg2.connect()`'s arguments: host, port,
    user, password, dbname), closed at the end."""
    with closing(psycopg2.connect(**connect_args)) as connection:
        writer = PostgresRawWriter(connection)
        try:
            yield writer
        finally:
            writer.close()


def as_raw_writer(target: "duckdb.DuckDBPyConnection | RawWriter") -> RawWriter:
    """A DuckDB connection becomes a `DuckDBRawWriter`; a writer stays itself."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return DuckDBRawWriter(target)
    return target


def ensure_raw_schema(target: "duckdb.DuckDBPyConnection | RawWriter") -> None:
    """Create the raw schema, one text table per contract table and the load ledger."""
    writer = as_raw_writer(target)
    writer.execute("create schema if not exists raw")
    for table in RAW_TABLES.values():
        columns = ", ".join(f'"{column}" varchar' for column in table.all_columns)
        writer.execute(f"create table if not exists raw.{table.name} ({columns}, {_METADATA_DDL})")
        # a warehouse created before an optional column was added to the contract
        for column in table.optional_columns:
            writer.execute(
                f'alter table raw.{table.name} add column if not exists "{column}" varchar'
            )
    writer.execute(_LEDGER_DDL)
    for statement in (*_LEDGER_MIGRATION, *writer.schema_ddl):
        writer.execute(statement)


def table_files(raw_dir: Path, table: str) -> Iterator[Path]:
    """The files of one table, in name order (hidden and `_`-prefixed files are ignored)."""
    folder = raw_dir / table
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")):
            yield path


def load_table(
    target: "duckdb.DuckDBPyConnection | RawWriter", raw_dir: Path, table: str
) -> list[FileLoad]:
    """Load every new file of one table; a bad file is set aside and the others still load.

    A rejected file that is no longer in the folder leaves the ledger; a changed one that is
    no longer there goes back to `loaded` (its rows stay).
    """
    writer = as_raw_writer(target)
    entries = writer.ledger_entries(table)
    loads = [
        _load_file(writer, raw_dir, RAW_TABLES[table], path, entries)
        for path in table_files(raw_dir, table)
    ]
    present = {load.file for load in loads}
    for file, entry in entries.items():
        if file in present:
            continue
        if entry.status == "rejected":
            writer.forget(table, file)
        elif entry.status == "changed":
            writer.mark(table, file, "loaded", None)
    return loads


def load_raw_directory(
    target: "duckdb.DuckDBPyConnection | RawWriter", raw_dir: Path
) -> list[FileLoad]:
    """Create the raw schema if needed and load every new file of every contract table."""
    ensure_raw_schema(target)
    return [load for table in RAW_TABLES for load in load_table(target, raw_dir, table)]


def load_file(
    target: "duckdb.DuckDBPyConnection | RawWriter", raw_dir: Path, table: RawTable, path: Path
) -> FileLoad:
    """Load one file if it is new, or set it aside (see the module's docstring)."""
    writer = as_raw_writer(target)
    return _load_file(writer, raw_dir, table, path, writer.ledger_entries(table.name))


def _load_file(
    writer: RawWriter,
    raw_dir: Path,
    table: RawTable,
    path: Path,
    entries: dict[str, LedgerEntry],
) -> FileLoad:
    relative = path.relative_to(raw_dir).as_posix()
    entry = entries.get(relative)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        return _set_aside(writer, table, relative, entry, "", f"could not be read: {error}")
    if entry is not None and entry.status != "rejected":
        if entry.sha256 != digest:
            return _set_aside(writer, table, relative, entry, digest, CHANGED_AFTER_LOAD)
        if entry.status == "changed":  # restored to the content loaded
            writer.mark(table.name, relative, "loaded", None)
        return FileLoad(table.name, relative, "skipped")

    try:
        rows = _file_rows(writer.reader, table, path, relative)
        count = writer.append(table, rows, (table.name, relative, digest))
    except RawFileError as error:
        return _set_aside(writer, table, relative, entry, digest, error.problem)
    except writer.file_errors as error:
        reason = f"could not be read: {_first_line(error)}"
        return _set_aside(writer, table, relative, entry, digest, reason)
    return FileLoad(table.name, relative, "loaded", count)


def _set_aside(
    writer: RawWriter,
    table: RawTable,
    relative: str,
    entry: LedgerEntry | None,
    digest: str,
    reason: str,
) -> FileLoad:
    """Record a file the load cannot take, unless the ledger already says so; the outcome."""
    if entry is None or entry.status == "rejected":
        status = "rejected"
        reported_before = entry == LedgerEntry(digest, "rejected", reason)
        if not reported_before:
            writer.reject(table.name, relative, digest, reason)
    else:  # loaded (or already changed): the loaded rows stay, and so does their sha256
        status = "changed"
        reported_before = entry.status == "changed" and entry.reason == reason
        if not reported_before:
            writer.mark(table.name, relative, "changed", reason)
    return FileLoad(table.name, relative, status, 0, reason, reported_before)


def _file_rows(
    con: duckdb.DuckDBPyConnection, table: RawTable, path: Path, relative: str
) -> duckdb.DuckDBPyRelation:
    """The file's rows in the raw table's columns (`_column_list`): every contract column as
    text (null where an optional one is absent), the file's path and the row's line number."""
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
    source_file = relative.replace("'", "''")
    return relation.project(
        f"{selected}, '{source_file}' as _source_file, row_number() over () as _source_row"
    )


def _column_list(table: RawTable) -> str:
    """The columns `_file_rows()` gives, in its order."""
    columns = ", ".join(f'"{column}"' for column in table.all_columns)
    return f"{columns}, _source_file, _source_row"


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
