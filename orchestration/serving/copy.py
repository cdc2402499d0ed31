"""Publish the public marts to a serving copy: a DuckDB file of its own that BI tools read.

A DuckDB file has one writer, and a reader holds a lock on it too: a BI client connected to the
warehouse would block the nightly build, and the build would lock the client out. So BI tools
read a copy instead. After a successful run the marts are written to a new file under a
temporary name next to the copy, in a storage format DuckDB 1.x opens, and `os.replace` swaps
it in: one atomic rename. A client connected before the swap keeps reading the file it opened
(the old inode stays alive until it disconnects); a client that connects after it reads the new
one. The pipeline never opens the published file, so no client lock can stop it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from orchestration.settings import Settings

# The schemas published: the public marts only. Schema `email` holds addresses and the
# payloads; `raw`, `staging` and `intermediate` are the pipeline's own.
SERVING_SCHEMAS = ("marts",)

# The storage format of the copy. The warehouse is written by DuckDB 2 in its own format
# (v2.0.0), which no DuckDB 1.x opens ("version number 999"); BI tools bundle 1.x drivers.
# v1.0.0 is the format every DuckDB from 0.10 on opens (the copy is ~6% larger than in v1.3.0
# or v2.0.0, measured on the 1M-event warehouse: 55 MB instead of 52 MB).
STORAGE_VERSION = "v1.0.0"


class ServingCopy(dg.ConfigurableResource):
    """FLYWHEEL_SERVING_COPY: the DuckDB file BI tools read. None: no copy is published (on
    PostgreSQL, where the `marts` schema itself is the serving layer)."""

    path: str | None = Field(None, description="FLYWHEEL_SERVING_COPY")

    @classmethod
    def from_settings(cls, settings: Settings) -> "ServingCopy":
        path = settings.serving_copy_path()
        return cls(path=str(path.resolve()) if path else None)


@dataclass(frozen=True)
class PublishedCopy:
    path: Path
    rows: dict[str, int]  # "schema.table" -> row count, for every table published
    storage_version: str

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish_serving_copy(warehouse: str | Path, serving_copy: str | Path) -> PublishedCopy:
    """Copy the public marts of the warehouse into a new file and swap it in atomically.

    The file is made read-only (mode 0444): a client that opens it for writing is refused, so
    a BI tool left in read-write mode gets an error instead of a write lost at the next swap.
    """
    target = Path(serving_copy)
    target.parent.mkdir(parents=True, exist_ok=True)
    # In the same folder, so that the rename stays on one file system and is atomic. Runs that
    # write the warehouse are one at a time, so a fixed name is safe; a crash leaves it behind
    # and the next publish starts it again.
    temporary = target.with_name(f".{target.name}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)

    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {_literal(str(warehouse))} as warehouse (read_only)")
        con.execute(
            f"attach {_literal(str(temporary))} as serving "
            f"(storage_version {_literal(STORAGE_VERSION)})"
        )
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'warehouse' and table_schema in "
            f"({', '.join(_literal(schema) for schema in SERVING_SCHEMAS)}) "
            "order by table_schema, table_name"
        ).fetchall()
        rows = {}
        for schema in SERVING_SCHEMAS:
            con.execute(f"create schema serving.{_identifier(schema)}")
        for schema, table in tables:
            name = f"{_identifier(schema)}.{_identifier(table)}"
            # a view would point at the pipeline's schemas: every relation becomes a table
            con.execute(f"create table serving.{name} as select * from warehouse.{name}")
            _copy_comments(con, schema, table)
            rows[f"{schema}.{table}"] = con.execute(
                f"select count(*) from serving.{name}"
            ).fetchone()[0]
        con.execute("checkpoint serving")
        con.execute("detach serving")
    os.chmod(temporary, 0o444)
    os.replace(temporary, target)
    return PublishedCopy(path=target, rows=rows, storage_version=STORAGE_VERSION)


def _copy_comments(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """The table's and its columns' descriptions (dbt's persist_docs), where the warehouse has
    them: BI tools show them next to the tables and columns."""
    name = f"serving.{_identifier(schema)}.{_identifier(table)}"
    where = "database_name = 'warehouse' and schema_name = ? and table_name = ?"
    comment = con.execute(
        f"select comment from duckdb_tables() where {where} "
        f"union all select comment from duckdb_views() where database_name = 'warehouse' "
        "and schema_name = ? and view_name = ?",
        [schema, table, schema, table],
    ).fetchone()
    if comment and comment[0]:
        con.execute(f"comment on table {name} is {_literal(comment[0])}")
    columns = con.execute(
        f"select column_name, comment from duckdb_columns() where {where} and comment is not null",
        [schema, table],
    ).fetchall()
    for column, text in columns:
        con.execute(f"comment on column {name}.{_identifier(column)} is {_literal(text)}")
