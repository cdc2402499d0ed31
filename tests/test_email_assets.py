"""The rendering step: what is due is rendered, and one bad payload fails alone."""

from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from orchestration.emails.assets import rendered_emails
from orchestration.emails.preview import sample_payloads
from orchestration.resources import Warehouse


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
