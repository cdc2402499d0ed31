"""Load raw files into the warehouse, incrementally and idempotently.

Every contract column lands as text exactly as it was in the file: typing and validation
happen in dbt's staging layer, where a bad value becomes a quarantined row instead of a failed
load. A file is loaded in one transaction together with its entry in `raw._loaded_files`, so a
crash leaves either all of a file or none of it, and a file already loaded is skipped.

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
from typing import Literal, Protocol

import duckdb
import psycopg2
import pyarrow.csv

from orchestration.ingestion.contract import RAW_TABLES, SUPPORTED_SUFFIXES, RawTable

LEDGER = "raw._loaded_files"

# The same DDL on DuckDB and PostgreSQL. A file's rows, as `_file_rows()` gives them, fill
# every column but `_loaded_at`: the time (UTC) the load's transaction started, which the
# column's default gives on both (DuckDB's writer also sets it, for tables created before
# the default existed).
_LOADED_AT = "(now() at time zone 'UTC')"
_METADATA_DDL = (
    "_source_file varchar not null, _source_row bigint not null, "
    f"_loaded_at timestamp not null default {_LOADED_AT}"
)
_LEDGER_DDL = (
    f"create table if not exists {LEDGER} ("
    "table_name varchar not null, file_path varchar not null, sha256 varchar not null, "
    "row_count bigint not null, loaded_at timestamp not null, "
    "primary key (table_name, file_path))"
)


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


class RawWriter(Protocol):
    """The warehouse side of a load: the raw schema, the ledger and the write of one file."""

    # Errors of `append` that mean the file cannot be loaded (it fails alone, by name).
    file_errors: tuple[type[Exception], ...]

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection that reads the files."""
        ...

    def execute(self, statement: str) -> None:
        """Run one statement (DDL) in its own transaction."""
        ...

    def loaded_sha256(self, table: str, file: str) -> str | None:
        """The SHA-256 the ledger holds for a file, or None when it was never loaded."""
        ...

    def row_count(self, table: str) -> int:
        """How many rows `raw.<table>` holds."""
        ...

    def append(self, table: RawTable, rows: duckdb.DuckDBPyRelation, ledger_row: tuple) -> int:
        """Insert a file's rows and its ledger row in one transaction; the number of rows.

        `ledger_row` is (table_name, file_path, sha256); the writer adds the row count and the
        load time. Any error rolls everything back.
        """
        ...


class DuckDBRawWriter:
    """Writes into a DuckDB warehouse, through the same connection that reads the files."""

    file_errors = (duckdb.Error,)

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @property
    def reader(self) -> duckdb.DuckDBPyConnection:
        return self.con

    def execute(self, statement: str) -> None:
        self.con.execute(statement)

    def loaded_sha256(self, table: str, file: str) -> str | None:
        found = self.con.execute(
            f"select sha256 from {LEDGER} where table_name = ? and file_path = ?", [table, file]
        ).fetchone()
        return None if found is None else found[0]

    def row_count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from raw.{table}").fetchone()[0]

    def append(self, table: RawTable, rows: duckdb.DuckDBPyRelation, ledger_row: tuple) -> int:
        self.con.execute("begin transaction")
        try:
            self.con.register("raw_file_rows", rows)
            count = self.con.execute(
                f"insert into raw.{table.name} ({_column_list(table)}, _loaded_at) "
                f"select *, {_LOADED_AT} from raw_file_rows"
            ).fetchone()[0]
            self.con.execute(
                f"insert into {LEDGER} values (?, ?, ?, ?, {_LOADED_AT})", [*ledger_row, count]
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

    def loaded_sha256(self, table: str, file: str) -> str | None:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(
                f"select sha256 from {LEDGER} where table_name = %s and file_path = %s",
                [table, file],
            )
            found = cursor.fetchone()
        return None if found is None else found[0]

    def row_count(self, table: str) -> int:
        with self.connection, self.connection.cursor() as cursor:
            cursor.execute(f"select count(*) from raw.{table}")
            return cursor.fetchone()[0]

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
                f"insert into {LEDGER} values (%s, %s, %s, %s, {_LOADED_AT})",
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
) -> tuple[list[FileLoad], list[RawFileError]]:
    """Load every new file of one table; a bad file is reported and the others still load."""
    loads: list[FileLoad] = []
    errors: list[RawFileError] = []
    for path in table_files(raw_dir, table):
        try:
            loads.append(load_file(target, raw_dir, RAW_TABLES[table], path))
        except RawFileError as error:
            errors.append(error)
    return loads, errors


def load_raw_directory(
    target: "duckdb.DuckDBPyConnection | RawWriter", raw_dir: Path
) -> tuple[list[FileLoad], list[RawFileError]]:
    """Create the raw schema if needed and load every new file of every contract table."""
    ensure_raw_schema(target)
    loads: list[FileLoad] = []
    errors: list[RawFileError] = []
    for table in RAW_TABLES:
        table_loads, table_errors = load_table(target, raw_dir, table)
        loads.extend(table_loads)
        errors.extend(table_errors)
    return loads, errors


def load_file(
    target: "duckdb.DuckDBPyConnection | RawWriter", raw_dir: Path, table: RawTable, path: Path
) -> FileLoad:
    writer = as_raw_writer(target)
    relative = path.relative_to(raw_dir).as_posix()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = writer.loaded_sha256(table.name, relative)
    if loaded is not None:
        if loaded != digest:
            raise RawFileError(
                relative,
                "changed after it was loaded; raw files are append-only, "
                "so write the new rows to a new file",
            )
        return FileLoad(table.name, relative, "skipped", 0)

    rows = _file_rows(writer.reader, table, path, relative)
    try:
        count = writer.append(table, rows, (table.name, relative, digest))
    except writer.file_errors as error:
        raise RawFileError(relative, f"could not be read: {_first_line(error)}") from error
    return FileLoad(table.name, relative, "loaded", count)


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
