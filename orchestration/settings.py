"""Flywheel's configuration: one settings object, read once from the environment and `.env`."""

import os
import shutil
import sys
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    raw_dir: Path = Field(REPO_ROOT / "data" / "raw", alias="FLYWHEEL_RAW_DIR")
    warehouse: Path = Field(REPO_ROOT / "warehouse" / "flywheel.duckdb", alias="FLYWHEEL_WAREHOUSE")
    email_backend: Literal["outbox", "sendgrid"] = Field("outbox", alias="FLYWHEEL_EMAIL_BACKEND")
    outbox_dir: Path = Field(REPO_ROOT / "outbox", alias="FLYWHEEL_OUTBOX_DIR")
    sendgrid_api_key: SecretStr | None = Field(None, alias="SENDGRID_API_KEY")
    sendgrid_api_host: str = Field("https://api.sendgrid.com", alias="SENDGRID_API_HOST")
    dbt_target: Literal["duckdb", "postgres"] = Field("duckdb", alias="DBT_TARGET")
    # The PostgreSQL warehouse (DBT_TARGET=postgres); dbt's profile reads the same variables.
    pg_host: str = Field("127.0.0.1", alias="FLYWHEEL_PG_HOST")
    pg_port: int = Field(5432, alias="FLYWHEEL_PG_PORT")
    pg_user: str = Field("flywheel", alias="FLYWHEEL_PG_USER")
    pg_password: SecretStr = Field(SecretStr("flywheel"), alias="FLYWHEEL_PG_PASSWORD")
    pg_database: str = Field("flywheel", alias="FLYWHEEL_PG_DATABASE")
    from_email: str = Field("reports@flywheel.example.com", alias="FLYWHEEL_FROM_EMAIL")
    from_name: str = Field("Flywheel", alias="FLYWHEEL_FROM_NAME")
    # {send_key} is replaced by the e-mail's send_key.
    unsubscribe_url: str = Field(
        "https://flywheel.example.com/unsubscribe?key={send_key}", alias="FLYWHEEL_UNSUBSCRIBE_URL"
    )
    sendgrid_sandbox: bool = Field(False, alias="SENDGRID_SANDBOX_MODE")
    sendgrid_asm_group_id: int | None = Field(None, alias="SENDGRID_ASM_GROUP_ID")
    sendgrid_webhook_public_key: str | None = Field(None, alias="SENDGRID_WEBHOOK_PUBLIC_KEY")
    # Triggers up to this many days old are still sent; older ones never are.
    send_grace_days: int = Field(1, alias="FLYWHEEL_SEND_GRACE_DAYS")
    # The first daily partition: the earliest UTC day a backfill can start from.
    history_start: date = Field(date(2025, 1, 1), alias="FLYWHEEL_HISTORY_START")
    # The local hour (0-23) the weekly report goes out on Monday, in each user's time zone.
    weekly_report_hour: int = Field(8, ge=0, le=23, alias="FLYWHEEL_WEEKLY_REPORT_HOUR")
    # Every e-mail arrives in its reader's local delivery window: from this local hour, for
    # this many hours (the weekly report's window opens at its own hour, on Monday). A run
    # inside the window sends at once; after it, the e-mail waits for the next morning.
    delivery_hour: int = Field(9, ge=0, le=23, alias="FLYWHEEL_DELIVERY_HOUR")
    delivery_window_hours: int = Field(3, ge=1, le=24, alias="FLYWHEEL_DELIVERY_WINDOW_HOURS")
    # False: a delivery that would fall on a local Saturday or Sunday moves to Monday morning.
    deliver_on_weekends: bool = Field(True, alias="FLYWHEEL_DELIVER_ON_WEEKENDS")

    def postgres_connect_args(self) -> dict:
        return {
            "host": self.pg_host,
            "port": self.pg_port,
            "user": self.pg_user,
            "password": self.pg_password.get_secret_value(),
            "dbname": self.pg_database,
        }

    def export_environment(self) -> None:
        """Publish the resolved settings to the environment, where dbt's profile and Dagster's
        `EnvVar` resources read them.

        Paths are made absolute: dbt resolves a relative DuckDB path against its own working
        directory, which differs between the CLI, Dagster and tests.
        """
        os.environ["FLYWHEEL_RAW_DIR"] = str(self.raw_dir.resolve())
        os.environ["FLYWHEEL_WAREHOUSE"] = str(self.warehouse.resolve())
        os.environ["DBT_TARGET"] = self.dbt_target
        # `.venv/bin/flywheel` works without activating the venv: dagster-dbt looks for the
        # `dbt` executable on PATH, and it sits next to this interpreter.
        if shutil.which("dbt") is None:
            os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        os.environ.setdefault("DO_NOT_TRACK", "1")


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.export_environment()
    return settings
