"""A dbt-duckdb plugin (profiles.example.yml, `plugins:`): every DuckDB connection and cursor
dbt opens gets the e-mail hash key as the session variable `flywheel_email_hash_key`, which
macros/email_hash.sql reads with getvariable().

The key is the one derived from FLYWHEEL_SECRET_KEY, else FLYWHEEL_EMAIL_HASH_KEY; when Dagster
runs dbt (dagster-dbt sets DAGSTER_DBT_CLI) without either, the public development key's, as
every other step of the outbox demo uses (orchestration/settings.py). The variable is set from
Python with a bound parameter, so the key is in none of the SQL dbt compiles, logs or records
in target/. dbt run by hand without a key sets nothing, and a model that hashes an address
fails with a message that says what to do.
"""

import os
import re
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from orchestration.email_hash import EMAIL_HASH_KEY_ENV, derive_email_hash_key
from orchestration.settings import DEV_SECRET_KEY

SESSION_VARIABLE = "flywheel_email_hash_key"
_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        secret = os.environ.get("FLYWHEEL_SECRET_KEY")
        self.key = derive_email_hash_key(secret.encode("utf-8")) if secret else None
        self.key = self.key or os.environ.get(EMAIL_HASH_KEY_ENV) or None
        if self.key is None and os.environ.get("DAGSTER_DBT_CLI") == "true":
            self.key = derive_email_hash_key(DEV_SECRET_KEY.encode("utf-8"))
        if self.key is not None and not _HEX_KEY.fullmatch(self.key):
            raise ValueError(f"{EMAIL_HASH_KEY_ENV} must be hex digits (`flywheel email-hash-key`)")

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self._set_key(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # A cursor is a new DuckDB connection: session variables do not carry over.
        self._set_key(cursor)

    def _set_key(self, conn: DuckDBPyConnection) -> None:
        if self.key is not None:
            conn.execute(f"set variable {SESSION_VARIABLE} = ?", [self.key.lower()])
