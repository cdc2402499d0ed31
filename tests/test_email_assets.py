"""The rendering step: what is due is rendered, and one bad payload fails alone."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration import runner
from orchestration.emails.assets import (
    SEND_LEDGER,
    EmailSelection,
    due_payloads,
    email_send_ledger,
    rendered_emails,
)
from orchestration.emails.delivery import DeliveryRules
from orchestration.emails.preview import sample_payloads
from orchestration.emails.sending import EmailBackend
from orchestration.quality.checks import EMAIL_PAYLOADS
from orchestration.resources import Warehouse
from tests.sendgrid_server import FakeSendGrid


def render_resources(warehouse: Path) -> dict:
    """The render step's resources: a warehouse, and the delivery rules' defaults."""
    return {"warehouse": Warehouse(path=str(warehouse)), "delivery_rules": DeliveryRules()}


def test_due_payloads_are_rendered_and_a_bad_one_fails_alone(tmp_path):
    payload = next(p for _, _, p in sample_payloads() if p["template"] == "level_up")
    day = date(2026, 3, 31)
    rows = [
        payload | {"send_key": "u1:level_up:due", "triggered_on": day},
        payload | {"send_key": "u2:level_up:broken", "triggered_on": day, "template": "nope"},
        payload | {"send_key": "u3:level_up:history", "triggered_on": date(2026, 3, 1)},
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("payloads", pd.DataFrame(rows))
        con.execute("create schema email")
        con.execute("create table email.rpt_email_payloads as select * from payloads")

    result = dg.materialize(
        [rendered_emails],
        resources=render_resources(warehouse),
        partition_key=day.isoformat(),
    )

    assert result.success
    metadata = result.asset_materializations_for_node("email__rendered_emails")[0].metadata
    assert metadata["rendered"].value == 1
    assert list(metadata["render_failures"].value) == ["u2:level_up:broken"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select send_key from email.rendered_emails").fetchall() == [
            ("u1:level_up:due",)
        ]


def test_weekly_reports_go_out_at_the_local_hour_and_only_with_the_weekly_run(tmp_path):
    payload = next(p for _, _, p in sample_payloads() if p["template"] == "weekly_report")
    sunday = date(2026, 3, 29)
    rows = [
        payload | {"send_key": f"{zone}:weekly_report", "triggered_on": sunday, "timezone": zone}
        for zone in ("Europe/Paris", "Europe/London", "America/Los_Angeles")
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("payloads", pd.DataFrame(rows))
        con.execute("create schema email")
        con.execute("create table email.rpt_email_payloads as select * from payloads")

    def rendered(**run_options) -> list[str]:
        assert dg.materialize(
            [rendered_emails],
            resources=render_resources(warehouse),
            partition_key=sunday.isoformat(),
            **run_options,
        ).success
        with duckdb.connect(str(warehouse), read_only=True) as con:
            keys = con.execute("select send_key from email.rendered_emails order by 1")
            return [row[0].split(":")[0] for row in keys.fetchall()]

    # the daily run of that Sunday leaves weekly reports to their schedule
    assert rendered() == []
    # Monday 07:00 UTC: 09:00 in Paris (summer time since Sunday), 08:00 in London
    at = {"weekly_reports_at": "2026-03-30T07:00:00+00:00"}
    config = {"ops": {"email__rendered_emails": {"config": at}}}
    assert rendered(run_config=config) == ["Europe/London", "Europe/Paris"]
    # each report is timed for its reader: Monday, from the weekly report hour, local time
    with duckdb.connect(str(warehouse), read_only=True) as con:
        windows = con.execute(
            "select timezone, due_on, delivery_hour, delivery_window_hours, deliver_on_weekends "
            "from email.rendered_emails order by 1"
        ).fetchall()
    monday = sunday + timedelta(days=1)
    assert windows == [
        ("Europe/London", monday, 8, 3, True),
        ("Europe/Paris", monday, 8, 3, True),
    ]


def test_rendered_triggers_are_due_on_their_local_day_in_the_delivery_window(tmp_path):
    payload = next(p for _, _, p in sample_payloads() if p["template"] == "level_up")
    day = date(2026, 3, 31)
    rows = [payload | {"send_key": "u1:level_up", "triggered_on": day, "timezone": "Asia/Tokyo"}]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("payloads", pd.DataFrame(rows))
        con.execute("create schema email")
        con.execute("create table email.rpt_email_payloads as select * from payloads")
    assert dg.materialize(
        [rendered_emails],
        resources=render_resources(warehouse),
        partition_key=day.isoformat(),
    ).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select timezone, due_on, delivery_hour, delivery_window_hours, deliver_on_weekends "
            "from email.rendered_emails"
        ).fetchall() == [("Asia/Tokyo", day, 9, 3, True)]


def test_a_monthly_team_report_goes_out_the_first_morning_of_the_next_month(tmp_path):
    payload = next(p for _, _, p in sample_payloads() if p["template"] == "monthly_team_report")
    month_end = date(2026, 3, 31)
    rows = [
        payload
        | {
            "send_key": "u1:monthly_team_report:2026-03",
            "triggered_on": month_end,
            "report_month": date(2026, 3, 1),
            "timezone": "Europe/Paris",
        }
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("payloads", pd.DataFrame(rows))
        con.execute("create schema email")
        con.execute("create table email.rpt_email_payloads as select * from payloads")
    # the daily run of the month's last day renders it (not the weekly report schedule)
    assert dg.materialize(
        [rendered_emails],
        resources=render_resources(warehouse),
        partition_key=month_end.isoformat(),
    ).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select send_key, timezone, due_on, delivery_hour from email.rendered_emails"
        ).fetchall() == [("u1:monthly_team_report:2026-03", "Europe/Paris", date(2026, 4, 1), 9)]


def test_without_weekend_delivery_a_friday_trigger_stays_due_over_the_weekend(tmp_path):
    friday, wednesday = date(2026, 6, 5), date(2026, 6, 3)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema email")
        con.execute(
            "create table email.rpt_email_payloads as select * from (values "
            "('fri', 'level_up', date '2026-06-05', 'Europe/Paris'), "
            "('wed', 'level_up', date '2026-06-03', 'Europe/Paris')) "
            "as t(send_key, trigger_type, triggered_on, timezone)"
        )

        def due(day: date, **rules) -> list[str]:
            chosen = DeliveryRules(grace_days=1, **rules)
            columns, rows = due_payloads(con, day, EmailSelection(), chosen)
            return sorted(row[columns.index("send_key")] for row in rows)

        weekdays = {"deliver_on_weekends": False}
        saturday, sunday, monday, tuesday = (friday + timedelta(n) for n in range(1, 5))
        # one grace day counts days an e-mail could go out: Saturday and Sunday do not
        assert [due(d, **weekdays) for d in (friday, saturday, sunday, monday, tuesday)] == [
            ["fri"],
            ["fri"],
            ["fri"],
            ["fri"],
            [],
        ]
        assert due(friday + timedelta(2)) == []  # every day a delivery day: as before
        assert due(wednesday + timedelta(1), **weekdays) == ["wed"]
        assert due(wednesday + timedelta(2), **weekdays) == ["fri"]


# --- sending: what the operator sees --------------------------------------------------------

API_KEY = "SG.flywheel-assets-test.SECRET"


@pytest.fixture
def sendgrid():
    """The local SendGrid server (its limits on)."""
    with FakeSendGrid(API_KEY, reject_addresses=["broken@example.com"]) as server:
        yield server


def send_step(tmp_path, addresses: list[str], server: FakeSendGrid) -> dg.ExecuteInProcessResult:
    """Render one level_up e-mail per address, due today, then run the send step."""
    payload = next(p for _, _, p in sample_payloads() if p["template"] == "level_up")
    day = datetime.now(UTC).date() - timedelta(days=1)  # the last closed partition
    rows = [
        payload | {"send_key": f"u{i}:level_up", "triggered_on": day, "email": address}
        for i, address in enumerate(addresses)
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("payloads", pd.DataFrame(rows))
        con.execute("create schema email")
        con.execute("create table email.rpt_email_payloads as select * from payloads")
    return dg.materialize(
        [rendered_emails, email_send_ledger],
        resources=render_resources(warehouse)
        | {"email_backend": EmailBackend(kind="sendgrid", api_key=API_KEY, api_host=server.host)},
        partition_key=day.isoformat(),
        raise_on_error=False,
    )


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_due_email_that_fails_fails_the_send_step_with_its_check(tmp_path, sendgrid):
    result = send_step(
        tmp_path, ["ada@example.com", "broken@example.com", "bo@example.com"], sendgrid
    )

    assert not result.success  # `flywheel run` exits non-zero; the failure sensor alerts
    checks = checks_of(result)
    failed = checks["every_due_email_sent"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.description.startswith("1 due e-mail(s) not sent (1 HTTP 400")
    assert list(failed.metadata["send_keys"].value) == ["u1:level_up"]
    assert checks["no_email_in_doubt"].passed
    # the others were sent, and the ledger is materialized with the counts
    materialization = result.asset_materializations_for_node("email__send_ledger")[0]
    assert materialization.metadata["accepted"].value == 2
    assert materialization.metadata["failed"].value == 1
    assert sendgrid.delivered_per_send_key() == {"u0:level_up": 1, "u2:level_up": 1}


def test_an_email_in_doubt_is_a_warning_and_the_others_are_sent(tmp_path, sendgrid):
    sendgrid.fail_next("drop")  # taken, never answered
    sendgrid.start_outage("503", paths=["/v3/user/scheduled_sends"])  # no cancel possible
    result = send_step(tmp_path, ["ada@example.com", "bo@example.com", "cy@example.com"], sendgrid)

    assert result.success
    checks = checks_of(result)
    assert checks["every_due_email_sent"].passed
    warning = checks["no_email_in_doubt"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.description.startswith("1 e-mail(s) in doubt, parked")
    (parked,) = warning.metadata["send_keys"].value.values()
    assert "attempt in doubt" in parked and "cancel of its batch" in parked
    assert len(sendgrid.delivered_per_send_key()) == 3  # the dropped one was taken


def stand_in_daily_run(*, payload_check_passes: bool) -> dg.ExecuteInProcessResult:
    """A daily run whose payloads are built (their blocking check passing or not) and whose
    send step fails its check."""

    @dg.asset(
        key=EMAIL_PAYLOADS,
        check_specs=[dg.AssetCheckSpec("payloads_ok", asset=EMAIL_PAYLOADS, blocking=True)],
    )
    def payloads():
        return dg.MaterializeResult(
            check_results=[dg.AssetCheckResult(passed=payload_check_passes)]
        )

    @dg.asset(
        key=SEND_LEDGER,
        deps=[EMAIL_PAYLOADS],
        check_specs=[dg.AssetCheckSpec("every_due_email_sent", asset=SEND_LEDGER, blocking=True)],
    )
    def sends():
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=False)])

    return dg.materialize([payloads, sends], raise_on_error=False)


@pytest.mark.parametrize("payload_check_passes", [True, False])
def test_a_failed_daily_send_does_not_hold_back_the_weekly_reports(
    monkeypatch, payload_check_passes
):
    daily = stand_in_daily_run(payload_check_passes=payload_check_passes)
    assert not daily.success
    weekly_runs = []
    monkeypatch.setattr(runner, "run_daily", lambda as_of, resources: daily)
    monkeypatch.setattr(
        runner, "run_weekly_reports", lambda at, resources: weekly_runs.append(at) or daily
    )

    results = runner.run_day(date(2026, 3, 29))  # a Sunday: the week's reports are due

    # the weekly reports go when the payloads are built and their guards passed, whatever
    # happened to the daily sends; the run still fails
    assert len(weekly_runs) == int(payload_check_passes)
    assert not all(result.success for result in results)
