"""The end-of-run summary: what was loaded, staged and quarantined, what the marts say,
and where to look."""

from datetime import datetime

from rich.console import Console
from rich.table import Table

from orchestration.emails.sending.outbox import outbox_stem
from orchestration.engagement_report import measure_engagement
from orchestration.report.directory import LATEST_NAME
from orchestration.report.outcomes import OUTCOMES
from orchestration.resources import Warehouse
from orchestration.settings import Settings
from orchestration.warehouse import WarehouseConnection

STAGING_MODELS = {
    "accounts": "staging.stg_product__accounts",
    "users": "staging.stg_product__users",
    "events": "staging.stg_product__events",
    "email_events": "staging.stg_sendgrid__email_events",
    "unsubscribes": "staging.stg_sendgrid__unsubscribes",
}


STAGES = """
select entity_type, stage, count(*) from marts.fct_engagement_stages
where as_of_date = (select max(as_of_date) from marts.fct_engagement_stages)
group by entity_type, stage
order by entity_type, array_position(array['implement', 'reinforce', 'optimize', 'expand'], stage)
"""

LEVELS = """
select levels.ladder, coalesce(levels.level, '(none yet)'), count(*)
from marts.fct_gamification_levels as levels
where levels.entity_type = 'user'
    and levels.as_of_date = (select max(as_of_date) from marts.fct_gamification_levels)
group by 1, 2 order by 1, min(levels.level_rank)
"""

# The lift the e-mails made, every trigger type and locale together (its method: docs/effect.md)
LIFT = """
select trigger_type, treated_units, holdout_units, lift, lift_ci_low, lift_ci_high, verdict
from marts.fct_email_lift
where locale = 'all' and outcome = ?
order by trigger_type
"""
# The outcome the summary shows: the one the e-mails move first.
SUMMARY_OUTCOME = OUTCOMES["active_days_7d"]

# What this run handed to the backend (its daily and weekly-report jobs)
SENT = """
select trigger_type, locale, count(*) from email.send_ledger
where status = 'accepted' and accepted_at >= ?
group by 1, 2 order by 1, 2
"""

# One e-mail of each trigger type to open: the one with the smallest send key
SENT_BY_TRIGGER = """
select trigger_type, count(*), min(send_key) from email.send_ledger
where status = 'accepted' and accepted_at >= ?
group by 1 order by 1
"""

SET_ASIDE = """
select file_path, status, reason from raw._loaded_files
where status in ('rejected', 'changed')
order by file_path
"""

TRIGGERS = """
select trigger_type, count(*), count(*) filter (where suppressed_reason is null),
    count(*) filter (where suppressed_reason = 'holdout'),
    count(*) filter (where suppressed_reason in ('unsubscribed', 'bounced', 'spam_report')),
    count(*) filter (where suppressed_reason in ('daily_cap', 'weekly_cap'))
from marts.fct_email_triggers group by 1 order by 1
"""


def _table(title: str, columns: list[str], rows: list[tuple]) -> Table:
    table = Table(title=title)
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index else "left")
    for row in rows:
        table.add_row(*(f"{value:,}" if isinstance(value, int) else str(value) for value in row))
    return table


def print_summary(settings: Settings, sent_since: datetime, console: Console | None = None) -> None:
    """The run's summary; `sent_since` (naive UTC) is when it started sending."""
    console = console or Console()
    warehouse = Warehouse.from_settings(settings)
    with warehouse.connect(read_only=True) as con:
        balance = " union all ".join(
            f"select '{table}' as table_name, "
            f"(select count(*) from raw.{table}) as raw, "
            f"(select count(*) from {model}) as staged, "
            "(select count(*) from marts.fct_data_quarantine "
            f"where source_table = '{table}') as quarantined"
            for table, model in STAGING_MODELS.items()
        )
        console.print(
            _table(
                "Raw rows = staged + quarantined",
                ["table", "raw", "staged", "quarantined"],
                con.execute(balance).fetchall(),
            )
        )
        _print_set_aside(console, con)
        reasons = con.execute(
            "select source_table, reason, count(*) from marts.fct_data_quarantine "
            "group by 1, 2 order by 1, 2"
        ).fetchall()
        if reasons:
            console.print(
                _table(
                    "Quarantine (marts.fct_data_quarantine)", ["table", "reason", "rows"], reasons
                )
            )
        console.print(
            _table(
                "Engagement stages today",
                ["entity", "stage", "count"],
                con.execute(STAGES).fetchall(),
            )
        )
        console.print(
            _table(
                "User levels today", ["ladder", "level", "users"], con.execute(LEVELS).fetchall()
            )
        )
        console.print(
            _table(
                "E-mail triggers, all history (marts.fct_email_triggers)",
                ["trigger", "all", "to send", "holdout", "opted out", "capped"],
                con.execute(TRIGGERS).fetchall(),
            )
        )
        _print_engagement(console, con)
        console.print(_lift_table(con.execute(LIFT, [SUMMARY_OUTCOME.name]).fetchall()))
        sent = con.execute(SENT, [sent_since]).fetchall()
        sent_by_trigger = con.execute(SENT_BY_TRIGGER, [sent_since]).fetchall()
        sending = _sending_status(con, sent_since)
    console.print(
        _table(
            f"E-mails sent by this run ({settings.email_backend})",
            ["trigger", "locale", "sent"],
            sent,
        )
    )
    if sending is not None:
        outcomes, in_doubt, unresolved = sending
        console.print(
            _table(
                "Send ledger: the e-mails this run sent or tried to",
                ["status", "failure", "e-mails"],
                outcomes,
            )
        )
        if in_doubt or unresolved:
            console.print(
                f"[bold yellow]{in_doubt:,} e-mail(s) in doubt, parked[/bold yellow] (a cancel "
                f"or the provider's events settle them); [bold red]{unresolved:,} unresolved"
                "[/bold red] (an operator decides): docs/sending.md, operator queries"
            )
    console.print(
        f"Warehouse: [bold]{warehouse.location}[/bold] "
        "(schemas raw, staging, intermediate, marts, email)"
    )
    report = settings.report_dir_path() / LATEST_NAME
    if report.is_file():
        console.print(
            f"E-mail programme report (`flywheel report` opens it): {report.resolve().as_uri()}",
            soft_wrap=True,
        )
    if settings.email_backend == "outbox" and sent_by_trigger:
        console.print(f"Outbox: [bold]{settings.outbox_dir}[/bold]; open one of each kind:")
        for trigger_type, count, send_key in sent_by_trigger:
            page = (settings.outbox_dir / f"{outbox_stem(send_key)}.html").resolve()
            console.print(f"  {trigger_type} ({count:,}): {page.as_uri()}", soft_wrap=True)


def _lift_table(rows: list[tuple]) -> Table:
    outcome = SUMMARY_OUTCOME
    shown = []
    for trigger_type, treated, holdout, lift, low, high, verdict in rows:
        figures = ("", "")
        if lift is not None:
            figures = (
                f"{lift * outcome.scale:+.{outcome.decimals}f}",
                f"{low * outcome.scale:+.{outcome.decimals}f} to "
                f"{high * outcome.scale:+.{outcome.decimals}f}",
            )
        shown.append((trigger_type, treated, holdout, *figures, verdict))
    return _table(
        f"Measured effect: {outcome.title.lower()} ({outcome.unit}), treated vs holdout units "
        "(marts.fct_email_lift)",
        ["trigger", "treated", "holdout", "lift", "95% interval", "verdict"],
        shown,
    )


def _print_set_aside(console: Console, con: WarehouseConnection) -> None:
    """The raw files the load set aside (raw._loaded_files), with their reasons, if any."""
    files = con.execute(SET_ASIDE).fetchall()
    if files:
        console.print(
            _table(
                "Raw files set aside, not loaded (raw._loaded_files; nothing was moved)",
                ["file", "status", "reason"],
                files,
            )
        )


def _print_engagement(console: Console, con: WarehouseConnection) -> None:
    """What the rules tell people: varied advice, stable stages, every step celebrated,
    comparisons only where they are fair and discreet."""
    report = measure_engagement(con)
    console.print(
        _table(
            "First recommendation of the e-mails that show one",
            ["recommendation", "e-mails", "%"],
            report.first_recommendations,
        )
    )
    console.print(
        _table(
            "level_up triggers at both ends of every ladder",
            ["ladder", "end", "level", "triggers"],
            report.ladder_end_level_ups,
        )
    )
    published = ", ".join(
        f"{band} {'yes' if is_published else 'NO'}"
        for band, is_published in report.bands_published.items()
    )
    console.print(
        f"Recommendations in e-mails already done: {report.recommendations_already_done:,}\n"
        f"User stage changes undone within 7 days: {report.stage_changes_reversed:,} of "
        f"{report.stage_changes:,} ({report.reversed_pct:.1f}%)\n"
        f"Team comparisons with fewer than min_team_size teammates: "
        f"{report.small_team_comparisons:,}\n"
        f"Published cohort benchmark per band: {published}"
    )


def _sending_status(
    con: WarehouseConnection, sent_since: datetime
) -> tuple[list[tuple], int, int] | None:
    """The ledger status of the e-mails this run wrote to the ledger (its daily and
    weekly-report jobs), and the ledger's attempts in doubt and unresolved ones (all runs);
    None before anything was sent."""
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'email'"
        ).fetchall()
    }
    if "send_ledger" not in tables:
        return None
    outcomes = con.execute(
        "select status, coalesce(failure_kind, ''), count(*) from email.send_ledger "
        "where updated_at >= ? group by 1, 2 order by 1, 2",
        [sent_since],
    ).fetchall()
    in_doubt, unresolved = con.execute(
        "select count(*) filter (where status in ('pending', 'in_doubt')), "
        "count(*) filter (where failure_kind = 'unresolved') from email.send_ledger"
    ).fetchone()
    return outcomes, in_doubt, unresolved
