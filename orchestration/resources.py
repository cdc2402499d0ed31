"""Dagster resources shared by several assets, configured from the environment."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file.

    DuckDB allows one writer per file, so assets open a connection only for the time they
    need it and close it before dbt builds against the same file.
    """

    path: str

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


class RawDirectory(dg.ConfigurableResource):
    """FLYWHEEL_RAW_DIR: one sub-folder of CSV or Parquet files per raw table."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)
