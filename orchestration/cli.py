"""The `flywheel` command line."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from dotenv import load_dotenv
from pydantic import ValidationError

from orchestration.emails.i18n import SUPPORTED_LOCALES
from orchestration.settings import Settings


def checked_settings() -> Settings:
    """The settings, or a clean error naming what is missing (never the values)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(
            f"- {problem['msg'].removeprefix('Value error, ')}" for problem in error.errors()
        )
        raise click.ClickException(f"Invalid configuration:\n{problems}") from None


@click.group()
def main() -> None:
    """Flywheel: gamified usage reports and triggered e-mails from your warehouse."""
    # As `dagster dev` does: `.env` joins the environment (which wins), where the resources'
    # EnvVar secrets and dbt's profile read it.
    load_dotenv(Path.cwd() / ".env", override=False)


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
@click.option(
    "--email-history",
    is_flag=True,
    help="Also simulate the window's e-mail programme (nudges with a planted effect, weekly "
    "reports): SendGrid email_events, and its sends in the warehouse's send ledger.",
)
@click.option(
    "--nudge-effect",
    type=click.FloatRange(0, 1),
    help="With --email-history: the daily chance, on the 7 days after an inactivity nudge, "
    "that it brings its reader back (0: no effect; default: the demo's).",
)
def generate(
    out_dir: Path | None,
    seed: int,
    accounts: int,
    days: int,
    end_date: datetime | None,
    target_events: int,
    file_format: str,
    dirty: bool,
    email_history: bool,
    nudge_effect: float | None,
) -> None:
    """Write deterministic demo data in the raw input contract."""
    from orchestration.demo_data import generate as generate_raw

    settings = checked_settings() if email_history or not out_dir else None
    target = out_dir or settings.raw_dir
    planted = {} if nudge_effect is None else {"nudge_effect": nudge_effect}
    summary = generate_raw(
        target,
        seed=seed,
        accounts=accounts,
        days=days,
        end_date=end_date.date() if end_date else None,
        target_events=target_events,
        file_format=file_format,
        dirty=dirty,
        email_history=email_history,
        **planted,
    )
    click.echo(f"Wrote {summary} to {target}")
    if email_history:
        from orchestration.emails.sending.ledger import ensure_send_ledger, record_history
        from orchestration.resources import Warehouse

        with Warehouse.from_settings(settings).connect() as con:
            ensure_send_ledger(con)
            written = record_history(con, summary.sends)
        click.echo(
            f"Recorded {written:,} simulated sends in the {settings.dbt_target} send ledger "
            f"({len(summary.sends) - written:,} were there already)"
        )


@main.command()
def load() -> None:
    """Load the new raw files into the DBT_TARGET warehouse (DuckDB or PostgreSQL), without
    building. On PostgreSQL, then run `dbt build --target postgres` in dbt_project/.

    A file that is not a table of the contract, or that changed after it was loaded, is set
    aside: listed with its reason, recorded in raw._loaded_files, left where it is, and the
    other files load. The command then exits with status 1, as long as such a file is in the
    folder (`flywheel run` and the daily job go on instead, with a warning check).
    """
    from orchestration.ingestion.loader import load_raw_directory
    from orchestration.resources import Warehouse

    settings = checked_settings()
    with Warehouse.from_settings(settings).raw_writer() as writer:
        loads = load_raw_directory(writer, settings.raw_dir)
    loaded = [load for load in loads if load.status == "loaded"]
    set_aside = [load for load in loads if load.set_aside]
    click.echo(
        f"{settings.dbt_target}: {len(loaded)} new file(s), {sum(f.rows for f in loaded)} row(s); "
        f"{sum(load.status == 'skipped' for load in loads)} already loaded"
    )
    if set_aside:
        raise click.ClickException(
            f"{len(set_aside)} file(s) set aside, not loaded (recorded in raw._loaded_files; "
            "the other files loaded):\n"
            + "\n".join(
                f"- {load}{' (unchanged since an earlier load)' if load.reported_before else ''}"
                for load in set_aside
            )
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

    settings = checked_settings()  # before anything runs: e.g. SendGrid without an address
    day = as_of.date() if as_of else datetime.now(UTC).date() - timedelta(days=1)
    prepare_manifest()
    from orchestration.resources import flywheel_resources
    from orchestration.runner import run_day
    from orchestration.summary import print_summary

    started = datetime.now(UTC).replace(tzinfo=None)  # the ledger's naive UTC
    results = run_day(day, resources=flywheel_resources(settings))
    print_summary(settings, sent_since=started)
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


@main.command()
@click.option(
    "--print-path",
    is_flag=True,
    help="Print the report's path instead of opening it (for machines without a browser).",
)
def report(print_path: bool) -> None:
    """Open the latest e-mail programme report (FLYWHEEL_REPORT_DIR) in the browser: the
    funnel and the measured effect of every trigger type, and the users' stages week by week.
    Each run writes it (docs/effect.md)."""
    import webbrowser

    from orchestration.report.directory import ReportDirectory

    latest = ReportDirectory.from_settings(checked_settings()).latest
    if not latest.is_file():
        raise click.ClickException(
            f"No programme report at {latest} yet: `flywheel run` writes it."
        )
    if print_path:
        click.echo(latest)
    elif webbrowser.open(latest.as_uri()):
        click.echo(f"Opened {latest}")
    else:
        click.echo(f"No browser to open it with; the report is {latest}")


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
    help="Directory to write into (default: previews/ in the repository; with --send-key or "
    "--user, a folder named after it inside previews/).",
)
@click.option(
    "--send-key",
    default=None,
    metavar="KEY",
    help="Preview this real e-mail of the warehouse (a send_key of email.rpt_email_payloads).",
)
@click.option(
    "--user",
    "user_id",
    default=None,
    metavar="USER_ID",
    help="Preview this user's real e-mails: the latest one of each trigger type they got "
    "(their latest day's e-mails among them).",
)
def preview(out_dir: Path | None, send_key: str | None, user_id: str | None) -> None:
    """Render e-mails in every language (en, fr, ru) into a gallery to sign them off with: an
    inbox view (sender, subject and preheader with their lengths), each sample's languages
    side by side at 375 and 800 px, and every e-mail as HTML and text.

    Without options: per trigger type, the typical and extreme real e-mails of the warehouse
    (FLYWHEEL_WAREHOUSE), or fixed samples where it has none. With --send-key or --user: those
    real e-mails. The warehouse is only read; readers' addresses are replaced in every preview.
    """
    from orchestration.emails.preview import build_previews, gallery_samples, real_samples
    from orchestration.emails.real_payloads import (
        WarehouseUnavailable,
        latest_payloads_of_user,
        payload_by_send_key,
    )
    from orchestration.emails.sending.outbox import outbox_stem
    from orchestration.settings import REPO_ROOT

    settings = checked_settings()
    if send_key is not None and user_id is not None:
        raise click.UsageError("Give --send-key or --user, not both.")
    if send_key is None and user_id is None:
        samples, source = gallery_samples(settings)
        index = build_previews(out_dir or REPO_ROOT / "previews", settings, samples, source)
        click.echo(f"Samples: {source}")
        click.echo(f"Wrote the e-mail previews; open {index.resolve().as_uri()}")
        return
    try:
        if send_key is not None:
            payload = payload_by_send_key(settings.warehouse, send_key)
            payloads = [payload] if payload else []
            missing = f"No e-mail with send key {send_key!r} in email.rpt_email_payloads"
        else:
            payloads = latest_payloads_of_user(settings.warehouse, user_id)
            missing = f"No e-mail for user {user_id!r} in email.rpt_email_payloads"
    except WarehouseUnavailable as error:
        raise click.ClickException(str(error)) from None
    if not payloads:
        raise click.ClickException(f"{missing} ({settings.warehouse}).")
    name = outbox_stem(send_key) if send_key is not None else f"user-{outbox_stem(user_id)}"
    target = out_dir or REPO_ROOT / "previews" / name
    note = f"{settings.warehouse}, {send_key or 'user ' + user_id} (address replaced)"
    index = build_previews(target, settings, real_samples(payloads), note)
    for payload in payloads:
        click.echo(
            f"{payload['send_key']}: {payload['trigger_type']} of {payload['triggered_on']} "
            f"in {payload['locale']}"
        )
    click.echo(
        f"Wrote {len(payloads)} real e-mail(s) in en, fr, ru; open {index.resolve().as_uri()}"
    )


@main.command("send-test")
@click.option(
    "--to", "to_email", required=True, metavar="ADDRESS", help="The address to send the test to."
)
@click.option(
    "--send-key",
    required=True,
    metavar="KEY",
    help="The real e-mail to send (a send_key of email.rpt_email_payloads).",
)
@click.option(
    "--locale",
    type=click.Choice(SUPPORTED_LOCALES),
    default=None,
    help="The language to render it in (default: the reader's).",
)
def send_test(to_email: str, send_key: str, locale: str | None) -> None:
    """Send one real e-mail of the warehouse to ADDRESS now, through the configured backend
    (FLYWHEEL_EMAIL_BACKEND), marked as a test: subject prefixed "[TEST] ", header
    X-Flywheel-Test: true, a send key of its own (its events never count for the real send).
    It is not scheduled and never written to the send ledger: the real e-mail still goes out
    when it is due. The warehouse is only read."""
    from orchestration.emails.real_payloads import WarehouseUnavailable, payload_by_send_key
    from orchestration.emails.send_test import render_for_tester, send_now
    from orchestration.emails.sending import backend_from_settings
    from orchestration.emails.sending.backend import SendStatus
    from orchestration.emails.sending.headers import InvalidMessage

    settings = checked_settings()
    try:
        payload = payload_by_send_key(settings.warehouse, send_key)
    except WarehouseUnavailable as error:
        raise click.ClickException(str(error)) from None
    if payload is None:
        raise click.ClickException(
            f"No e-mail with send key {send_key!r} in email.rpt_email_payloads "
            f"({settings.warehouse})."
        )
    try:
        email = render_for_tester(payload, to_email, settings, locale)
        backend = backend_from_settings(settings)
    except (InvalidMessage, ValueError) as error:
        raise click.ClickException(str(error)) from None
    result = send_now(email, backend)
    if result.status != SendStatus.ACCEPTED:
        raise click.ClickException(
            f"{backend.name} did not take the test ({result.status}): {result.reason}"
        )
    where = (
        f" ({settings.outbox_dir / result.provider_message_id})" if backend.name == "outbox" else ""
    )
    click.echo(
        f"Sent a test of {send_key} ({email.trigger_type}, {email.locale}) to {to_email} "
        f"through {backend.name}{where}; its send key is {email.send_key}."
    )


@main.command("docs-pictures")
@click.option(
    "--out",
    "docs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The docs folder (default: docs/ in the repository).",
)
@click.option(
    "--chromium",
    default=lambda: shutil.which("chromium") or "/usr/bin/chromium",
    show_default="chromium on PATH",
    help="The Chromium executable to take the pictures with.",
)
def docs_pictures(docs_dir: Path | None, chromium: str) -> None:
    """Picture the typical real e-mail of each trigger type in the warehouse
    (FLYWHEEL_WAREHOUSE), in English, into docs/emails/*.png and docs/emails.md."""
    from orchestration.emails.real_payloads import WarehouseUnavailable
    from orchestration.settings import REPO_ROOT

    try:
        from orchestration.emails.docs_pictures import write_docs_pictures
    except ImportError as error:
        raise click.ClickException(
            f"{error}: the pictures need Playwright (uv sync installs the dev dependencies)"
        ) from None
    if not Path(chromium).is_file():
        raise click.ClickException(f"No Chromium at {chromium} (make system-deps installs it).")
    try:
        page = write_docs_pictures(checked_settings(), docs_dir or REPO_ROOT / "docs", chromium)
    except WarehouseUnavailable as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {page} and its pictures")


@main.command("docs-bi-chart")
@click.option(
    "--out",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The PNG to write (default: docs/bi_weekly_active_users_by_stage.png).",
)
def docs_bi_chart(path: Path | None) -> None:
    """Chart weekly active users by engagement stage from the serving copy of the marts
    (FLYWHEEL_SERVING_COPY, or next to FLYWHEEL_WAREHOUSE), with the SQL docs/bi.md shows."""
    from orchestration.settings import REPO_ROOT

    try:
        from orchestration.serving.bi_chart import (
            draw_weekly_active_users_by_stage,
            weekly_active_users_by_stage,
        )
    except ImportError as error:
        raise click.ClickException(
            f"{error}: the chart needs matplotlib (uv sync installs the dev dependencies)"
        ) from None
    serving_copy = checked_settings().serving_copy_path()
    if serving_copy is None:
        raise click.ClickException(
            "The chart reads the DuckDB serving copy: set DBT_TARGET=duckdb "
            "(on PostgreSQL, run the same SQL on schema marts)."
        )
    try:
        table = weekly_active_users_by_stage(serving_copy)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    path = path or REPO_ROOT / "docs" / "bi_weekly_active_users_by_stage.png"
    draw_weekly_active_users_by_stage(table, path)
    first, last = table.index[0], table.index[-1]
    click.echo(f"Wrote {path}: the {len(table)} weeks from {first:%Y-%m-%d} to {last:%Y-%m-%d}")
