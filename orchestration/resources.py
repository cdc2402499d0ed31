"""Dagster resources shared by several assets, and every resource of the code location built
from the settings: `flywheel run`, the tests and `dagster dev` run with the same ones."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from orchestration.alerts import AlertLog
from orchestration.dbt.project import dbt_resource
from orchestration.emails.delivery import DeliveryRules
from orchestration.emails.sending.resource import EmailBackend
from orchestration.report.directory import ReportDirectory
from orchestration.serving.copy import ServingCopy
from orchestration.settings import Settings


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file.

    DuckDB allows one writer per file, so assets open a connection only for the time they
    need it and close it before dbt builds against the same file.
    """

    path: str

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
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


def flywheel_resources(settings: Settings) -> dict[str, Any]:
    """The resources every job runs with. Paths are absolute: dbt runs in dbt_project/, not
    in the working directory the settings were read in."""
    return {
        "warehouse": Warehouse(path=str(settings.warehouse.resolve())),
        "raw_directory": RawDirectory(path=str(settings.raw_dir.resolve())),
        "serving_copy": ServingCopy.from_settings(settings),
        "report_directory": ReportDirectory.from_settings(settings),
        "dbt": dbt_resource(),
        "email_backend": EmailBackend.from_settings(settings),
        "delivery_rules": DeliveryRules.from_settings(settings),
        "alert_log": AlertLog(),
    }
