"""Dagster assets: render the payloads that are due, then send them exactly once."""

import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import dagster as dg
from jinja2 import TemplateError

from orchestration.dbt.assets import SENDING_GROUP
from orchestration.emails import weekly_report
from orchestration.emails.delivery import DeliveryRules, DeliverySlot, DeliveryWindow
from orchestration.emails.message import RenderedEmail
from orchestration.emails.render import render_email
from orchestration.emails.sending.ledger import ensure_send_ledger
from orchestration.emails.sending.resource import EmailBackend
from orchestration.emails.sending.sender import (
    FAILED_OUTCOMES,
    SendingAborted,
    SendReport,
    send_emails,
)
from orchestration.partitions import daily_partitions, one_run_per_backfill, partition_days
from orchestration.quality import INBOX_GUARDED_ASSETS
from orchestration.resources import Warehouse
from orchestration.settings import Settings
from orchestration.warehouse import WarehouseConnection

RENDERED = dg.AssetKey(["email", "rendered_emails"])
SEND_LEDGER = dg.AssetKey(["email", "send_ledger"])

RENDERED_DDL = """
create table email.rendered_emails (
    send_key varchar primary key, to_email varchar not null, to_name varchar,
    subject varchar not null, html varchar not null, text varchar not null,
    trigger_type varchar not null, locale varchar not null, headers varchar not null,
    variant_id varchar not null,
    -- the delivery window: the reader's time zone, the local day due, the window's hours
    timezone varchar, due_on date, delivery_hour integer, delivery_window_hours integer,
    deliver_on_weekends boolean
)
"""


def delivery_slot(payload: dict, rules: DeliveryRules) -> DeliverySlot:
    """When a payload's e-mail should arrive: triggers on their local day (`triggered_on`),
    weekly reports on the Monday after the Sunday that ends their week, monthly team reports
    on the first day of the month after theirs."""
    trigger_type = payload["trigger_type"]
    due_on = _as_date(payload["triggered_on"])
    if trigger_type in ("weekly_report", "monthly_team_report"):
        # dated the last day of the week or month they report; they go out the day after
        due_on += timedelta(days=1)
    return DeliverySlot(payload.get("timezone"), due_on, rules.window(trigger_type))


class EmailSelection(dg.Config):
    """Which e-mails a run sends.

    Empty `weekly_reports_at`: the triggers due on the partition's last day (grace: the
    `delivery_rules` resource), except weekly reports. Set (an ISO 8601 instant, by the weekly
    report schedule): only the weekly reports of the week ending on the partition's day whose
    local send time has passed at that instant.
    """

    weekly_reports_at: str | None = None


def due_payloads(
    con: WarehouseConnection, day: date, selection: EmailSelection, rules: DeliveryRules
) -> tuple[list[str], list[tuple]]:
    """The payload rows a run renders: (column names, rows)."""
    weekly = selection.weekly_reports_at is not None
    # Grace counts the days an e-mail could have gone out: with weekend delivery off, a
    # Friday trigger deferred past the weekend (docs/sending.md) is still due on Monday.
    window = rules.window("daily")
    weekend_days = 0 if window.weekends else 2
    cursor = con.execute(
        "select * from email.rpt_email_payloads "
        "where (trigger_type = 'weekly_report') = ? and triggered_on between ? and ? "
        "order by send_key",
        [weekly, day - timedelta(days=rules.grace_days + weekend_days), day],
    )
    columns = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    if not weekly and weekend_days:
        triggered_on = columns.index("triggered_on")
        rows = [
            row
            for row in rows
            if window.delivery_days_between(_as_date(row[triggered_on]), day) <= rules.grace_days
        ]
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
                hour=rules.weekly_report_hour,
                grace_days=rules.grace_days,
            )
        ]
    return columns, rows


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@dg.asset(
    key=RENDERED,
    # Depending on every asset a blocking check guards (the payloads among them) is what
    # makes a failed check stop the send: Dagster blocks only direct dependents.
    deps=list(INBOX_GUARDED_ASSETS),
    group_name=SENDING_GROUP,
    kinds={"jinja", "duckdb", "postgres"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
    description="The e-mails due on the partition's last day (grace: FLYWHEEL_SEND_GRACE_DAYS), "
    "rendered in the reader's locale; weekly reports at their local hour (weekly_report "
    "schedule). Older triggers are history: a backfill never e-mails the past.",
)
def rendered_emails(
    context: dg.AssetExecutionContext,
    config: EmailSelection,
    warehouse: Warehouse,
    delivery_rules: DeliveryRules,
) -> dg.MaterializeResult:
    # The e-mails' content settings (sender, links, postal address, unsubscribe key), as the
    # environment holds them when the step runs.
    settings = Settings()
    _, day = partition_days(context)
    with warehouse.connect() as con:
        columns, rows = due_payloads(con, day, config, delivery_rules)
        emails: list[RenderedEmail] = []
        failures: dict[str, str] = {}
        for row in rows:
            payload = dict(zip(columns, row, strict=True))
            # One payload the templates cannot render must not hold back everyone else's.
            try:
                email = render_email(payload, settings)
                emails.append(replace(email, delivery=delivery_slot(payload, delivery_rules)))
            except (KeyError, ValueError, TemplateError) as error:
                failures[payload["send_key"]] = f"{type(error).__name__}: {error}"
        con.execute("drop table if exists email.rendered_emails")  # PostgreSQL: no `or replace`
        con.execute(RENDERED_DDL)
        if emails:
            con.executemany(
                "insert into email.rendered_emails "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        e.variant_id,
                        e.delivery.timezone,
                        e.delivery.due_on,
                        e.delivery.window.hour,
                        e.delivery.window.hours,
                        e.delivery.window.weekends,
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


# What the operator is told after every send: a due e-mail that failed fails the step (and
# the run: `flywheel run` exits non-zero, the failure sensor writes an alert line); one parked
# in doubt is a warning until a cancel or the provider's events settle it.
EVERY_DUE_EMAIL_SENT = dg.AssetCheckSpec(
    "every_due_email_sent",
    asset=SEND_LEDGER,
    blocking=True,
    description="Every e-mail due in this run was handed over, is already sent, is parked in "
    "doubt (settled later) or waits for its delivery window; none failed and none was left "
    "unsent (refused, given up after retries, unresolved, or held back by an outage).",
)
NO_EMAIL_IN_DOUBT = dg.AssetCheckSpec(
    "no_email_in_doubt",
    asset=SEND_LEDGER,
    description="No attempt in the send ledger is in doubt (maybe taken by the provider, "
    "not settled yet). A warning: a cancel or the provider's events settle it (docs/sending.md).",
)
# At most this many send_keys with their reasons in a check's metadata.
_LISTED = 20


@dg.asset(
    key=SEND_LEDGER,
    deps=[RENDERED],
    group_name=SENDING_GROUP,
    kinds={"sendgrid", "duckdb", "postgres"},
    partitions_def=daily_partitions,
    backfill_policy=one_run_per_backfill,
    check_specs=[EVERY_DUE_EMAIL_SENT, NO_EMAIL_IN_DOUBT],
    description="Sends the rendered e-mails through the outbox or SendGrid; the ledger records "
    "every attempt, so a re-run sends each send_key at most once (docs/sending.md).",
)
def email_send_ledger(
    context: dg.AssetExecutionContext, warehouse: Warehouse, email_backend: EmailBackend
) -> dg.MaterializeResult:
    backend = email_backend.backend()
    with warehouse.connect() as con:
        ensure_send_ledger(con)
        rows = con.execute(
            "select send_key, to_email, to_name, subject, html, text, trigger_type, locale, "
            "headers, variant_id, timezone, due_on, delivery_hour, delivery_window_hours, "
            "deliver_on_weekends from email.rendered_emails order by send_key"
        ).fetchall()
        emails = [
            RenderedEmail(
                *row[:8],
                headers=json.loads(row[8]),
                variant_id=row[9],
                delivery=DeliverySlot(row[10], row[11], DeliveryWindow(*row[12:15])),
            )
            for row in rows
        ]
        try:
            report = send_emails(con, emails, backend)
        except SendingAborted as aborted:  # said once, in the check below
            report = aborted.report
        in_doubt = con.execute(
            "select send_key, batch_id, send_at, error from email.send_ledger "
            "where status in ('pending', 'in_doubt') order by send_at, send_key limit ?",
            [_LISTED],
        ).fetchall()
    log = context.log.error if report.not_sent or report.aborted else context.log.info
    log(f"{backend.name}: {report.summary()}")
    metadata = {
        "backend": backend.name,
        "accepted": report.accepted,
        "already_sent": report.already_sent,
        "confirmed_by_events": report.confirmed,
        "failed": report.failed,
        "not_attempted": report.not_attempted,
        "in_doubt": report.in_doubt,
        "deferred": report.deferred,
        "resent_after_cancel": report.resent_after_cancel,
        "resent_after_no_event": report.resent_after_no_event,
        "cancelled_batches": report.cancelled_batches,
        "ledger_in_doubt": report.ledger_in_doubt,
    }
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[_every_due_email_sent(report), _no_email_in_doubt(report, in_doubt)],
    )


def _every_due_email_sent(report: SendReport) -> dg.AssetCheckResult:
    not_sent = [o for o in report.outcomes if o.status in FAILED_OUTCOMES]
    reasons = Counter((o.error or o.status).split(": ", 1)[0] for o in not_sent)
    if report.aborted:
        description = f"Sending aborted, nothing else sent: {report.aborted}"
    elif not_sent or report.unresolved_elsewhere:
        description = (
            f"{len(not_sent)} due e-mail(s) not sent ("
            + ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(5))
            + "); see email.send_ledger.error"
        )
        if report.unresolved_elsewhere:
            description += (
                f". {len(report.unresolved_elsewhere)} earlier attempt(s) in doubt turned "
                "unresolved: an operator decides (docs/sending.md, operator queries)"
            )
        if report.outage:
            description += f". Outage: {report.outage}"
    else:
        description = (
            f"{report.accepted} sent, {report.already_sent + report.confirmed} already sent, "
            f"{report.in_doubt} in doubt (parked), {report.deferred} deferred"
        )
    listed = {o.send_key: o.error or o.status for o in not_sent[:_LISTED]}
    listed.update(list(report.unresolved_elsewhere.items())[: _LISTED - len(listed)])
    return dg.AssetCheckResult(
        check_name=EVERY_DUE_EMAIL_SENT.name,
        passed=not report.not_sent and report.aborted is None,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "not_sent": len(not_sent),
            "outage": report.outage or "",
            "send_keys": listed,
        },
    )


def _no_email_in_doubt(report: SendReport, in_doubt: list[tuple]) -> dg.AssetCheckResult:
    parts = []
    if report.ledger_in_doubt:
        parts.append(
            f"{report.ledger_in_doubt} e-mail(s) in doubt, parked: each is settled by a cancel "
            "of its batch or by the provider's events, or marked unresolved for an operator "
            "(docs/sending.md)"
        )
    if report.withdrawn_elsewhere:
        parts.append(
            f"{len(report.withdrawn_elsewhere)} e-mail(s) not delivered by an earlier attempt "
            "and not due in this run: the run that has them due sends them (while within the "
            "grace days)"
        )
    return dg.AssetCheckResult(
        check_name=NO_EMAIL_IN_DOUBT.name,
        passed=not parts,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(parts) or "No attempt in doubt",
        metadata={
            "in_doubt": report.ledger_in_doubt,
            "send_keys": {
                key: f"batch {batch}, send_at {send_at} UTC: {error}"
                for key, batch, send_at, error in in_doubt
            },
            "not_delivered_not_due": dict(list(report.withdrawn_elsewhere.items())[:_LISTED]),
        },
    )
