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
        run_config={"ops": {"email__rendered_emails": {"config": {"as_of": day.isoformat()}}}},
    )

    assert result.success
    metadata = result.asset_materializations_for_node("email__rendered_emails")[0].metadata
    assert metadata["rendered"].value == 1
    assert list(metadata["render_failures"].value) == ["u2:level_up:broken"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select send_key from email.rendered_emails").fetchall() == [
            ("u1:level_up:due",)
        ]
