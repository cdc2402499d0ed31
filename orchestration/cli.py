"""The `flywheel` command line."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from orchestration.settings import get_settings


def _last_complete_day() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@click.group()
def main() -> None:
    """Flywheel: gamified usage reports and triggered e-mails from your warehouse."""


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Raw directory to write (default: FLYWHEEL_RAW_DIR).",
)
@click.option("--seed", default=42, show_default=True)
@click.option("--accounts", default=60, show_default=True)
@click.option("--days", default=180, show_default=True)
@click.option(
    "--end-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day of data (default: yesterday, UTC).",
)
@click.option(
    "--events",
    "target_events",
    default=200_000,
    show_default=True,
    help="Approximate number of events.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
)
@click.option("--dirty", is_flag=True, help="Plant every kind of bad input and a manifest.")
@click.option("--feedback", is_flag=True, help="Also write SendGrid email_events.")
def generate(
    out_dir: Path | None,
    seed: int,
    accounts: int,
    days: int,
    end_date: datetime | None,
    target_events: int,
    file_format: str,
    dirty: bool,
    feedback: bool,
) -> None:
    """Write deterministic demo data in the raw input contract."""
    from orchestration.demo_data import generate as generate_raw

    target = out_dir or get_settings().raw_dir
    summary = generate_raw(
        target,
        seed=seed,
        accounts=accounts,
        days=days,
        end_date=end_date.date() if end_date else None,
        target_events=target_events,
        file_format=file_format,
        dirty=dirty,
        feedback=feedback,
    )
    click.echo(f"Wrote {summary} to {target}")


@main.command()
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day to run for (UTC; default: yesterday).",
)
def run(as_of: datetime | None) -> None:
    """Run the daily job in-process: load new raw files and build the warehouse."""
    from orchestration.dbt.project import prepare_manifest

    day = as_of.date() if as_of else _last_complete_day()
    prepare_manifest()
    from orchestration.runner import run_daily
    from orchestration.summary import print_summary

    result = run_daily(day)
    print_summary(get_settings())
    if not result.success:
        raise click.ClickException(f"The run for {day} failed; see the log above.")
