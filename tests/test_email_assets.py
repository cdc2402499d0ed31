"""The rendering step: what is due is rendered, and one bad payload fails alone."""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pandas as pd

from orchestration.emails.assets import EmailSelection, due_payloads, rendered_emails
from orchestration.emails.preview import sample_payloads
from orchestration.resources import Warehouse
from orchestration.settings import Settings


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
        resources={"warehouse": Warehouse(path=str(warehouse))},
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
            resources={"warehouse": Warehouse(path=str(warehouse))},
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
        resources={"warehouse": Warehouse(path=str(warehouse))},
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
        resources={"warehouse": Warehouse(path=str(warehouse))},
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

        def due(day: date, **settings) -> list[str]:
            chosen = Settings(_env_file=None, FLYWHEEL_SEND_GRACE_DAYS=1, **settings)
            columns, rows = due_payloads(con, day, EmailSelection(), chosen)
            return sorted(row[columns.index("send_key")] for row in rows)

        weekdays = {"FLYWHEEL_DELIVER_ON_WEEKENDS": False}
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
