"""Dagster resources shared by several assets, and every resource of the code location built
from the settings: `flywheel run`, the tests and `dagster dev` run with the same ones."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import duckdb
from sqlalchemy import URL

from orchestration.alerts import AlertLog
from orchestration.dbt.project import dbt_resource
from orchestration.emails.delivery import DeliveryRules
from orchestration.emails.sending.resource import EmailBackend
from orchestration.ingestion.loader import DuckDBRawWriter, RawWriter, postgres_raw_writer
from orchestration.report.directory import ReportDirectory
from orchestration.serving.copy import ServingCopy
from orchestration.settings import Settings
from orchestration.warehouse import WarehouseConnection, connect_postgres

PG_PASSWORD = "FLYWHEEL_PG_PASSWORD"


class Warehouse(dg.ConfigurableResource):
    """The warehouse the Python steps read and write: DBT_TARGET's, the one dbt builds.

    DuckDB (`path`): one writer per file, so assets open a connection only for the time they
    need it and close it before dbt builds against the same file. PostgreSQL: the FLYWHEEL_PG_*
    server dbt's profile reads; each `connect()` is a new connection (orchestration/warehouse.py).
    """

    path: str  # the DuckDB file (FLYWHEEL_WAREHOUSE)
    target: Literal["duckdb", "postgres"] = "duckdb"
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "flywheel"
    # Given as dg.EnvVar("FLYWHEEL_PG_PASSWORD") when set: the UI shows the name, not the value.
    pg_password: str = "flywheel"
    pg_database: str = "flywheel"

    @classmethod
    def from_settings(cls, settings: Settings) -> "Warehouse":
        password = settings.pg_password.get_secret_value()
        if settings.dbt_target == "postgres" and os.environ.get(PG_PASSWORD) == password:
            password = dg.EnvVar(PG_PASSWORD)
        return cls(
            path=str(settings.warehouse.resolve()),
            target=settings.dbt_target,
            pg_host=settings.pg_host,
            pg_port=settings.pg_port,
            pg_user=settings.pg_user,
            pg_password=password,
            pg_database=settings.pg_database,
        )

    @property
    def location(self) -> str:
        """Where the warehouse is, for messages: the DuckDB file or the PostgreSQL database."""
        if self.target == "postgres":
            return f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_database}"
        return self.path

    def postgres_connect_args(self) -> dict[str, Any]:
        """`psycopg2.connect()`'s arguments. Outside a run (the CLI) the password may still be
        the EnvVar that a run resolves."""
        password = self.pg_password
        if isinstance(password, dg.EnvVar):
            password = password.get_value()
        return {
            "host": self.pg_host,
            "port": self.pg_port,
            "user": self.pg_user,
            "password": password,
            "dbname": self.pg_database,
        }

    def postgres_url(self) -> str | None:
        """The SQLAlchemy URL of the PostgreSQL warehouse (Great Expectations' SQL data
        source); None on DuckDB."""
        if self.target != "postgres":
            return None
        args = self.postgres_connect_args()
        return URL.create(
            "postgresql+psycopg2",
            username=args["user"],
            password=args["password"],
            host=args["host"],
            port=args["port"],
            database=args["dbname"],
        ).render_as_string(hide_password=False)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[WarehouseConnection]:
        if self.target == "postgres":
            with connect_postgres(self.postgres_connect_args(), read_only=read_only) as con:
                yield con
            return
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    @contextmanager
    def raw_writer(self) -> Iterator[RawWriter]:
        """The writer of a raw load (orchestration/ingestion/loader.py)."""
        if self.target == "postgres":
            with postgres_raw_writer(**self.postgres_connect_args()) as writer:
                yield writer
            return
        with self.connect() as con:
            yield DuckDBRawWriter(con)


class RawDirectory(dg.ConfigurableResource):
    """FLYWHEEL_RAW_DIR: one sub-folder of CSV or Parquet files per raw table."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


def flywheel_resources(settings: Settings) -> dict[str, Any]:
    """The resources every job runs with. Paths are absolute: dbt runs in dbt_project/, not
    in the working directory the settings were read in."""
    return {
        "warehouse": Warehouse.from_settings(settings),
        "raw_directory": RawDirectory(path=str(settings.raw_dir.resolve())),
        "serving_copy": ServingCopy.from_settings(settings),
        "report_directory": ReportDirectory.from_settings(settings),
        "dbt": dbt_resource(),
        "email_backend": EmailBackend.from_settings(settings),
        "delivery_rules": DeliveryRules.from_settings(settings),
        "alert_log": AlertLog(),
    }
