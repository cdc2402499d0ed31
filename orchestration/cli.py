"""The `flywheel` command line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from pydantic import ValidationError

from orchestration.settings import Settings, get_settings


def checked_settings() -> Settings:
    """The settings, or a clean error naming what is missing (never the values)."""
    try:
        return get_settings()
    except ValidationError as error:
        problems = "\n".join(
            f"- {problem['msg'].removeprefix('Value error, ')}" for problem in error.errors()
        )
        raise click.ClickException(f"Invalid configuration:\n{problems}") from None


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

    target = out_dir or checked_settings().raw_dir
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
def load() -> None:
    """Load the new raw files into the DBT_TARGET warehouse (DuckDB or PostgreSQL), without
    building. On PostgreSQL, then run `dbt build --target postgres` in dbt_project/."""
    from orchestration.ingestion.loader import load_raw_directory, postgres_raw_writer
    from orchestration.resources import Warehouse

    settings = checked_settings()
    if settings.dbt_target == "postgres":
        with postgres_raw_writer(**settings.postgres_connect_args()) as writer:
            loads, errors = load_raw_directory(writer, settings.raw_dir)
    else:
        with Warehouse(path=str(settings.warehouse)).connect() as con:
            loads, errors = load_raw_directory(con, settings.raw_dir)
    loaded = [load for load in loads if load.status == "loaded"]
    click.echo(
        f"{settings.dbt_target}: {len(loaded)} new file(s), {sum(f.rows for f in loaded)} row(s); "
        f"{len(loads) - len(loaded)} already loaded"
    )
    if errors:
        raise click.ClickException(
            f"{len(errors)} file(s) could not be loaded:\n" + "\n".join(map(str, errors))
        )


@main.command()
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day to run for (UTC; default: yesterday).",
)
def run(as_of: datetime | None) -> None:
    """Run the daily job in-process: load new raw files, build the warehouse, send what is due
    (weekly reports included, from the Sunday that ends a week)."""
    from orchestration.dbt.project import prepare_manifest

    checked_settings()  # before anything runs: e.g. SendGrid without a postal address
    day = as_of.date() if as_of else datetime.now(UTC).date() - timedelta(days=1)
    prepare_manifest()
    from orchestration.runner import run_day
    from orchestration.summary import print_summary

    results = run_day(day)
    print_summary(get_settings())
    if not all(result.success for result in results):
        raise click.ClickException(f"The run for {day} failed; see the log above.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=int, help="Port to listen on.")
def webhook(host: str, port: int) -> None:
    """Receive SendGrid's signed Event Webhook and write raw email_events files; serve the
    unsubscribe page (the path of FLYWHEEL_UNSUBSCRIBE_URL) and write raw unsubscribes files.

    Needs SENDGRID_WEBHOOK_PUBLIC_KEY (the verification key of SendGrid's signed Event
    Webhook) and, for real e-mails, FLYWHEEL_SECRET_KEY (the key the unsubscribe links are
    signed with). Files land in FLYWHEEL_RAW_DIR/email_events/webhook/ and
    FLYWHEEL_RAW_DIR/unsubscribes/web/; the next run loads them.
    """
    import logging
    from urllib.parse import urlsplit

    from orchestration.feedback.server import serve

    settings = checked_settings()
    if not settings.sendgrid_webhook_public_key:
        raise click.ClickException(
            "Set SENDGRID_WEBHOOK_PUBLIC_KEY: unsigned webhook requests are never accepted."
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if settings.secret_key is None:
        logging.getLogger(__name__).warning(
            "FLYWHEEL_SECRET_KEY is not set: unsubscribe links are checked with the public "
            "development key, which is only for the outbox demo"
        )
    try:
        serve(
            host,
            port,
            raw_dir=settings.raw_dir,
            public_key=settings.sendgrid_webhook_public_key,
            unsubscribe_secret=settings.unsubscribe_secret(),
            unsubscribe_path=urlsplit(settings.unsubscribe_url).path or "/",
            brand=settings.from_name,
        )
    except ValueError as error:  # a public key that is not one
        raise click.ClickException(str(error)) from error
    except OSError as error:  # e.g. the port is taken
        raise click.ClickException(f"Cannot listen on {host}:{port}: {error}") from error


@main.command("email-hash-key")
def email_hash_key() -> None:
    """Print the e-mail hash key (hex): the key of `email_hash` in the marts, derived from
    FLYWHEEL_SECRET_KEY. Give it to whoever joins a list of addresses on `email_hash`, never
    the secret key itself; and to dbt when you run it by hand (docs/architecture.md)."""
    settings = checked_settings()
    if settings.secret_key is None:
        click.echo(
            "FLYWHEEL_SECRET_KEY is not set: this is the public development key's, for the "
            "outbox demo only",
            err=True,
        )
    click.echo(settings.email_hash_key())


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the gallery into (default: previews/ in the repository).",
)
def preview(out_dir: Path | None) -> None:
    """Render every e-mail template in every language into a browsable HTML gallery."""
    from orchestration.emails.preview import build_previews
    from orchestration.settings import REPO_ROOT

    index = build_previews(out_dir or REPO_ROOT / "previews", checked_settings())
    click.echo(f"Wrote the e-mail previews; open {index.resolve().as_uri()}")
