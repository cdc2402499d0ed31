"""Dagster assets: render the payloads that are due, then send them exactly once."""

import json
from collections import Counter
from datetime import date, datetime, timedelta

import dagster as dg
import duckdb
from jinja2 import TemplateError

from orchestration.emails import weekly_report
from orchestration.emails.message import RenderedEmail
from orchestration.emails.render import render_email
from orchestration.emails.sending.factory import backend_from_settings
from orchestration.emails.sending.ledger import ensure_send_ledger
from orchestration.emails.sending.sender import send_emails
from orchestration.partitions import daily_partitions, one_run_per_backfill, partition_days
from orchestration.quality import INBOX_GUARDED_ASSETS
from orchestration.resources import Warehouse
from orchestration.settings import Settings, get_settings

RENDERED = dg.AssetKey(["email", "rendered_emails"])
SEND_LEDGER = dg.AssetKey(["email", "send_ledger"])

RENDERED_DDL = """
create or replace table email.rendered_emails (
    send_key varchar primary key, to_email varchar not null, to_name varchar,
    subject varchar not null, html varchar not null, text varchar not null,
    trigger_type varchar not null, locale varchar not null, headers varchar not null
)
"""


class EmailSelection(dg.Config):
    """Which e-mails a run sends.

    Empty `weekly_reports_at`: the triggers due on the partition's last day (grace:
    FLYWHEEL_SEND_GRACE_DAYS), except weekly reports. Set (an ISO 8601 instant, by the weekly
    report schedule): only the weekly reports of the week ending on the partition's day whose
    local send time has passed at that instant.
    """

    weekly_reports_at: str | None = None


def due_payloads(
    con: duckdb.DuckDBPyConnection, day: date, selection: EmailSelection, settings: Settings
) -> tuple[list[str], list[tuple]]:
    """The payload rows a run renders: (column names, rows)."""
    weekly = selection.weekly_reports_at is not None
    cursor = con.execute(
        "select * from email.rpt_email_payloads "
        "where (trigger_type = 'weekly_report') = ? and triggered_on between ? and ? "
        "order by send_key",
        [weekly, day - timedelta(days=settings.send_grace_days), day],
    )
    columns = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    if weekly:
        at = datetime.fromisoformat(selection.weekly_reports_at)
        week_end, timezone = columns.index("triggered_on"), columns.index("timezone")
        rows = [
            row
            for row in rows
            if weekly_report.is_due(
                row[week_end],
                row[timezone],
                at,
                hour=settings.weekly_report_hour,
                grace_days=settings.send_grace_days,
            )
        ]
    return columns, rows


@dg.asset(
    key=RENDERED,
    # Depending on every asset a blocking check guards (the payloads among them) is what
    # makes a failed check stop the send: Dagster blocks only direct dependents.
    deps=list(INBOX_GUARDED_ASSETS),
    group_name="email",
    kinds={"jinja", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
    description="The e-mails due on the partition's last day (grace: FLYWHEEL_SEND_GRACE_DAYS), "
    "rendered in the reader's locale; weekly reports at their local hour (weekly_report "
    "schedule). Older triggers are history: a backfill never e-mails the past.",
)
def rendered_emails(
    context: dg.AssetExecutionContext, config: EmailSelection, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = get_settings()
    _, day = partition_days(context)
    with warehouse.connect() as con:
        columns, rows = due_payloads(con, day, config, settings)
        emails: list[RenderedEmail] = []
        failures: dict[str, str] = {}
        for row in rows:
            payload = dict(zip(columns, row, strict=True))
            # One payload the templates cannot render must not hold back everyone else's.
            try:
                emails.append(render_email(payload, settings))
            except (KeyError, ValueError, TemplateError) as error:
                failures[payload["send_key"]] = f"{type(error).__name__}: {error}"
        con.execute(RENDERED_DDL)
        if emails:
            con.executemany(
                "insert into email.rendered_emails values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        e.send_key,
                        e.to_email,
                        e.to_name,
                        e.subject,
                        e.html,
                        e.text,
                        e.trigger_type,
                        e.locale,
                        json.dumps(e.headers),
                    ]
                    for e in emails
                ],
            )
    by_type = Counter(email.trigger_type for email in emails)
    if config.weekly_reports_at:
        context.log.info(f"Rendered {len(emails)} weekly report(s) of the week ending {day}")
    else:
        context.log.info(f"Rendered {len(emails)} e-mail(s) due on {day}")
    for send_key, reason in failures.items():
        context.log.error(f"Could not render {send_key}: {reason}")
    return dg.MaterializeResult(
        metadata={
            "rendered": len(emails),
            "render_failures": failures,
            "by_trigger_type": dict(sorted(by_type.items())),
            "by_locale": dict(sorted(Counter(email.locale for email in emails).items())),
        }
    )


@dg.asset(
    key=SEND_LEDGER,
    deps=[RENDERED],
    group_name="email",
    kinds={"sendgrid", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
    description="Sends the rendered e-mails through the outbox or SendGrid; the ledger records "
    "every attempt, so a re-run sends each send_key at most once (docs/sending.md).",
)
def email_send_ledger(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = get_settings()
    backend = backend_from_settings(settings)
    with warehouse.connect() as con:
        ensure_send_ledger(con)
        rows = con.execute(
            "select send_key, to_email, to_name, subject, html, text, trigger_type, locale, "
            "headers from email.rendered_emails order by send_key"
        ).fetchall()
        emails = [RenderedEmail(*row[:8], headers=json.loads(row[8])) for row in rows]
        report = send_emails(con, emails, backend)
    context.log.info(f"{settings.email_backend}: {report.summary()}")
    metadata = {
        "backend": settings.email_backend,
        "accepted": report.accepted,
        "already_sent": report.already_sent,
        "failed": report.failed,
        "in_doubt": report.in_doubt,
        "resent_after_cancel": report.resent_after_cancel,
    }
    if report.in_doubt:
        # Attempts the provider may or may not have taken: only a re-run inside the cancel
        # window (docs/sending.md) resolves them, so the operator has to know now.
        raise dg.Failure(
            description=f"{report.in_doubt} e-mail(s) are in doubt: re-run this step within "
            "the cancel window to resolve them (docs/sending.md). " + report.summary(),
            metadata=metadata,
        )
    if report.failed:
        # One bad address must not stop the others: failures stay in the ledger with reasons.
        context.log.warning(f"{report.failed} e-mail(s) failed; see email.send_ledger.error")
    return dg.MaterializeResult(metadata=metadata)
