"""A dbt-duckdb plugin (profiles.example.yml, `plugins:`): every DuckDB connection and cursor
dbt opens gets the e-mail hash key from FLYWHEEL_EMAIL_HASH_KEY as the session variable
`flywheel_email_hash_key`, which macros/email_hash.sql reads with getvariable().

The variable is set from Python with a bound parameter, so the key is in none of the SQL dbt
compiles, logs or records in target/. Without the environment variable nothing is set, and a
model that hashes an address fails with a message that says what to do.
"""

import os
import re
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from orchestration.email_hash import EMAIL_HASH_KEY_ENV

SESSION_VARIABLE = "flywheel_email_hash_key"
_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.key = os.environ.get(EMAIL_HASH_KEY_ENV) or None
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
