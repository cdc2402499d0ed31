"""The end-of-run summary: what was loaded, staged and quarantined, and where to look."""

import duckdb
from rich.console import Console
from rich.table import Table

from orchestration.ingestion.contract import RAW_TABLES
from orchestration.settings import Settings

STAGING_MODELS = {
    "accounts": "staging.stg_product__accounts",
    "users": "staging.stg_product__users",
    "events": "staging.stg_product__events",
    "email_events": "staging.stg_sendgrid__email_events",
    "unsubscribes": "staging.stg_sendgrid__unsubscribes",
}


def print_summary(settings: Settings, console: Console | None = None) -> None:
    console = console or Console()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = Table(title="Raw rows: staged + quarantined")
        for column in ("table", "raw", "staged", "quarantined"):
            tables.add_column(column, justify="left" if column == "table" else "right")
        for table in RAW_TABLES:
            raw = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            staged = con.execute(f"select count(*) from {STAGING_MODELS[table]}").fetchone()[0]
            quarantined = con.execute(
                "select count(*) from marts.fct_data_quarantine where source_table = ?", [table]
            ).fetchone()[0]
            tables.add_row(table, f"{raw:,}", f"{staged:,}", f"{quarantined:,}")
        console.print(tables)

        reasons = con.execute(
            "select source_table, reason, count(*) from marts.fct_data_quarantine "
            "group by all order by 1, 2"
        ).fetchall()
        if reasons:
            quarantine = Table(title="Quarantine (marts.fct_data_quarantine)")
            for column in ("table", "reason", "rows"):
                quarantine.add_column(column, justify="right" if column == "rows" else "left")
            for table, reason, rows in reasons:
                quarantine.add_row(table, reason, f"{rows:,}")
            console.print(quarantine)
    console.print(f"Warehouse: [bold]{settings.warehouse}[/bold] (schemas raw, staging, marts)")
