"""Flywheel's configuration, read from the environment and `.env`: the CLI and the Dagster
code location each read it where they start and build their resources from it
(orchestration/resources.py); nothing here is cached or written back to the environment."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestration.email_hash import derive_email_hash_key

REPO_ROOT = Path(__file__).resolve().parent.parent

# Used when FLYWHEEL_POSTAL_ADDRESS is not set and the outbox backend is in use (demo, tests):
# clearly not a real address. SendGrid runs refuse to start without a real one.
DEMO_POSTAL_ADDRESS = "Flywheel · 1 Example Street, Springfield (demo address)"
# The unsubscribe tokens' key when FLYWHEEL_SECRET_KEY is not set and the backend is the
# outbox. It is public (it is in this file), so anyone can make tokens with it: never use it
# for real e-mails. SendGrid runs refuse to start without FLYWHEEL_SECRET_KEY.
DEV_SECRET_KEY = "flywheel-development-key-public-never-use-for-real-e-mails"
MIN_SECRET_KEY_CHARS = 32


class CodeLocationSettings(BaseSettings):
    """What shapes the Dagster definitions themselves, read when the code location loads."""

    # hide_input_in_errors: a validation error must never print the API or secret key.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    # The first daily partition: the earliest UTC day a backfill can start from.
    history_start: date = Field(date(2025, 1, 1), alias="FLYWHEEL_HISTORY_START")


class Settings(CodeLocationSettings):
    raw_dir: Path = Field(REPO_ROOT / "data" / "raw", alias="FLYWHEEL_RAW_DIR")
    warehouse: Path = Field(REPO_ROOT / "warehouse" / "flywheel.duckdb", alias="FLYWHEEL_WAREHOUSE")
    # The read-only copy of the marts BI tools read (DuckDB only; docs/bi.md). Unset: next to
    # the warehouse, `<warehouse name>_serving.duckdb`.
    serving_copy: Path | None = Field(None, alias="FLYWHEEL_SERVING_COPY")
    # Where the e-mail programme report is written (docs/effect.md). Unset: `reports/` next to
    # the warehouse.
    report_dir: Path | None = Field(None, alias="FLYWHEEL_REPORT_DIR")
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
    # The product's address: every call to action links to a path under it.
    app_url: str = Field("https://app.flywheel.example.com", alias="FLYWHEEL_APP_URL")
    from_email: str = Field("reports@flywheel.example.com", alias="FLYWHEEL_FROM_EMAIL")
    from_name: str = Field("Flywheel", alias="FLYWHEEL_FROM_NAME")
    reply_to: str | None = Field(None, alias="FLYWHEEL_REPLY_TO")
    # {token} is replaced by the e-mail's signed unsubscribe token (docs/unsubscribe.md).
    unsubscribe_url: str = Field(
        "https://flywheel.example.com/unsubscribe?token={token}", alias="FLYWHEEL_UNSUBSCRIBE_URL"
    )
    # The sender's postal address, in every e-mail's footer (required with SendGrid).
    postal_address: str | None = Field(None, alias="FLYWHEEL_POSTAL_ADDRESS")
    # Signs the unsubscribe tokens (required with SendGrid).
    secret_key: SecretStr | None = Field(None, alias="FLYWHEEL_SECRET_KEY")
    sendgrid_sandbox: bool = Field(False, alias="SENDGRID_SANDBOX_MODE")
    # What to do when the SendGrid host has no scheduled-send batches (HTTP 404 on
    # /v3/mail/batch, e.g. a local mock): required refuses to send; optional says so once and
    # sends without batches (doubt settled only by the provider's events); off never asks.
    sendgrid_batches: Literal["required", "optional", "off"] = Field(
        "required", alias="SENDGRID_BATCHES"
    )
    sendgrid_asm_group_id: int | None = Field(None, alias="SENDGRID_ASM_GROUP_ID")
    # E-mail group -> SendGrid unsubscribe group id: JSON or "group=id,group=id".
    sendgrid_asm_groups: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, alias="SENDGRID_ASM_GROUPS"
    )
    sendgrid_webhook_public_key: str | None = Field(None, alias="SENDGRID_WEBHOOK_PUBLIC_KEY")
    # Triggers up to this many days old are still sent; older ones never are.
    send_grace_days: int = Field(1, alias="FLYWHEEL_SEND_GRACE_DAYS")
    # The local hour (0-23) the weekly report goes out on Monday, in each user's time zone.
    weekly_report_hour: int = Field(8, ge=0, le=23, alias="FLYWHEEL_WEEKLY_REPORT_HOUR")
    # Every e-mail arrives in its reader's local delivery window: from this local hour, for
    # this many hours (the weekly report's window opens at its own hour, on Monday). A run
    # inside the window sends at once; after it, the e-mail waits for the next morning.
    delivery_hour: int = Field(9, ge=0, le=23, alias="FLYWHEEL_DELIVERY_HOUR")
    delivery_window_hours: int = Field(3, ge=1, le=24, alias="FLYWHEEL_DELIVERY_WINDOW_HOURS")
    # False: a delivery that would fall on a local Saturday or Sunday moves to Monday morning.
    deliver_on_weekends: bool = Field(True, alias="FLYWHEEL_DELIVER_ON_WEEKENDS")

    @field_validator("sendgrid_asm_groups", mode="before")
    @classmethod
    def _parse_asm_groups(cls, value: Any) -> Any:
        """`{"tips": 123}` as JSON, or `tips=123,reports=456`."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{"):
            return json.loads(text)
        pairs = [pair.partition("=") for pair in text.split(",") if pair.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise ValueError("SENDGRID_ASM_GROUPS: expected JSON or group=id,group=id")
        return {name.strip(): group_id.strip() for name, _, group_id in pairs}

    @model_validator(mode="after")
    def _check_compliance_settings(self) -> "Settings":
        url = self.unsubscribe_url
        if "{token}" not in url or "{send_key}" in url:
            raise ValueError(
                "FLYWHEEL_UNSUBSCRIBE_URL must contain {token} (the signed unsubscribe token) "
                "and no {send_key}"
            )
        if not url.isascii() or urlsplit(url).scheme not in ("https", "http"):
            raise ValueError("FLYWHEEL_UNSUBSCRIBE_URL must be an ASCII http(s) URL")
        from orchestration.emails.groups import email_groups
        from orchestration.emails.sending.headers import InvalidMessage, checked_address

        if self.reply_to:
            try:
                checked_address(self.reply_to)
            except InvalidMessage as error:
                raise ValueError(f"FLYWHEEL_REPLY_TO: {error}") from None

        unknown = sorted(set(self.sendgrid_asm_groups) - set(email_groups()))
        if unknown:
            raise ValueError(
                f"SENDGRID_ASM_GROUPS names unknown e-mail groups {unknown}; the groups are "
                f"{', '.join(email_groups())} (seed trigger_priorities.csv)"
            )
        secret = self.secret_key.get_secret_value() if self.secret_key else None
        if secret is not None and len(secret) < MIN_SECRET_KEY_CHARS:
            raise ValueError(
                f"FLYWHEEL_SECRET_KEY must be at least {MIN_SECRET_KEY_CHARS} characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if self.email_backend == "sendgrid":
            missing = [
                name
                for name, value in (
                    ("SENDGRID_API_KEY", self.sendgrid_api_key),
                    ("FLYWHEEL_POSTAL_ADDRESS", (self.postal_address or "").strip()),
                    ("FLYWHEEL_SECRET_KEY", self.secret_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"FLYWHEEL_EMAIL_BACKEND=sendgrid needs {' and '.join(missing)}: every "
                    "e-mail shows the sender's postal address in its footer and carries an "
                    "unsubscribe link signed with the secret key (docs/unsubscribe.md)"
                )
        return self

    def footer_postal_address(self) -> str:
        """FLYWHEEL_POSTAL_ADDRESS, or the demo address (outbox only: see the validator)."""
        return (self.postal_address or "").strip() or DEMO_POSTAL_ADDRESS

    def unsubscribe_secret(self) -> bytes:
        """FLYWHEEL_SECRET_KEY, or the public development key (outbox only)."""
        key = self.secret_key.get_secret_value() if self.secret_key else DEV_SECRET_KEY
        return key.encode("utf-8")

    def email_hash_key(self) -> str:
        """The key of the marts' keyed e-mail hash (hex): a sub-key of the same secret, for
        this purpose only (orchestration/email_hash.py)."""
        return derive_email_hash_key(self.unsubscribe_secret())

    def serving_copy_path(self) -> Path | None:
        """Where the marts' serving copy is published; None on PostgreSQL, whose `marts`
        schema BI tools read directly (docs/bi.md)."""
        if self.dbt_target != "duckdb":
            return None
        warehouse = self.warehouse
        return self.serving_copy or warehouse.with_name(f"{warehouse.stem}_serving.duckdb")

    def report_dir_path(self) -> Path:
        """Where the programme report is written: FLYWHEEL_REPORT_DIR, or `reports/` next to
        the warehouse."""
        return self.report_dir or self.warehouse.with_name("reports")
