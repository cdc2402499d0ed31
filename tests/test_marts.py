"""The engagement marts on generated data: coverage, privacy, arbitration, sends, and what a
BI tool reads of them: the table and column comments, the primary keys, the metrics."""

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.dbt.project import flywheel_dbt
from orchestration.email_hash import dbt_environment, keyed_email_hash
from orchestration.emails.groups import trigger_types
from orchestration.settings import Settings
from tests.pipeline import END_DATE, Pipeline
from tests.privacy import find_personal_data

MF = Path(sys.executable).parent / "mf"  # MetricFlow's CLI, next to the interpreter


def test_every_trigger_type_occurs(demo_pipeline):
    found = {
        row[0]
        for row in demo_pipeline.query("select distinct trigger_type from marts.fct_email_triggers")
    }
    assert found == set(trigger_types())


def test_every_level_of_every_ladder_occurs(demo_pipeline):
    ladder_levels = set(demo_pipeline.query("select ladder, level from seeds.gamification_levels"))
    reached = set(
        demo_pipeline.query(
            "select distinct ladder, level from marts.fct_gamification_levels "
            "where level is not null"
        )
    )
    assert len(ladder_levels) == 11
    assert reached == ladder_levels


def test_every_stage_occurs_for_users(demo_pipeline):
    stages = demo_pipeline.query(
        "select distinct stage from marts.fct_engagement_stages where entity_type = 'user'"
    )
    assert {row[0] for row in stages} == {"implement", "reinforce", "optimize", "expand"}


def test_no_reversible_identifier_in_the_marts(demo_pipeline):
    """No raw address, unkeyed hash of one or first name in any column of schema `marts`,
    although the raw tables (and the operators' quarantine) have plenty."""
    columns = demo_pipeline.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and column_name like '%email%'"
    )
    assert {column for _, column in columns} <= {"email_hash"}
    assert find_personal_data(demo_pipeline.warehouse, "marts") == []

    operators = find_personal_data(demo_pipeline.warehouse, "intermediate")
    kinds = {(f.table, f.column, f.kind) for f in operators if f.table == "int_data_quarantine"}
    assert kinds == {
        ("int_data_quarantine", "raw_payload", "address"),
        ("int_data_quarantine", "raw_payload", "first_name"),
    }


def test_email_hash_is_the_keyed_hash_of_the_address(demo_pipeline):
    """HMAC-SHA256 of the normalised address under the key derived from FLYWHEEL_SECRET_KEY
    (here the development key), as a BI user computes it in Python to join a list."""
    key = Settings(_env_file=None).email_hash_key()
    users = demo_pipeline.query(
        "select stg.email, dim.email_hash from staging.stg_product__users as stg "
        "join marts.dim_users as dim using (user_id)"
    )
    assert len(users) > 500
    assert [hashed for email, hashed in users if hashed != keyed_email_hash(email, key)] == []


def test_the_public_quarantine_is_the_raw_row_redacted(demo_pipeline):
    """Row for row: every raw key in order, `email` as its keyed hash `email_hash`, no
    `first_name`; the payloads of tables without personal data are unchanged."""
    key = Settings(_env_file=None).email_hash_key()
    rows = demo_pipeline.query(
        "select source_table, raw_payload, redacted_payload "
        "from intermediate.int_data_quarantine "
        "join marts.fct_data_quarantine using (quarantine_id, source_table, source_row)"
    )
    assert len(rows) == demo_pipeline.scalar("select count(*) from marts.fct_data_quarantine")
    assert {"users", "unsubscribes", "accounts", "events"} <= {row[0] for row in rows}
    for source_table, raw_payload, redacted_payload in rows:
        expected = []
        for name, value in json.loads(raw_payload).items():
            if name == "email":
                hashed = None if value is None else keyed_email_hash(value, key)
                expected.append(("email_hash", hashed))
            elif name != "first_name":
                expected.append((name, value))
        assert list(json.loads(redacted_payload).items()) == expected, source_table


def test_holdout_users_get_no_payload_and_caps_hold(demo_pipeline):
    holdout_payloads = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads join marts.dim_users using (user_id) "
        "where dim_users.is_holdout"
    )
    assert holdout_payloads == 0
    busiest_day = demo_pipeline.scalar(
        "select max(n) from (select count(*) as n from email.rpt_email_payloads "
        "group by user_id, triggered_on)"
    )
    busiest_week = demo_pipeline.scalar(
        "with sent as (select user_id, triggered_on from email.rpt_email_payloads) "
        "select max(n) from (select count(*) as n from sent as day join sent as earlier "
        "on day.user_id = earlier.user_id "
        "and earlier.triggered_on between day.triggered_on - 6 and day.triggered_on "
        "group by day.user_id, day.triggered_on)"
    )
    assert busiest_day == 1
    assert busiest_week == 3


def test_the_variants_experiment_is_drawn_rendered_and_measured(demo_pipeline):
    """inactive_nudge's two variants (seed email_variants): both drawn, held-out triggers
    included; each payload names its variant's template; the variant mart compares each with
    the holdout and with the other."""
    drawn = dict(
        demo_pipeline.query(
            "select variant_id, count(*) from marts.fct_email_triggers "
            "where trigger_type = 'inactive_nudge' group by variant_id"
        )
    )
    assert set(drawn) == {"control", "progress_waiting"}
    assert min(drawn.values()) > 0.3 * sum(drawn.values())
    templates = set(
        demo_pipeline.query(
            "select distinct variant_id, template from email.rpt_email_payloads "
            "where trigger_type = 'inactive_nudge'"
        )
    )
    assert templates == {
        ("control", "inactive_nudge"),
        ("progress_waiting", "variants/inactive_nudge__progress_waiting"),
    }
    comparisons = set(
        demo_pipeline.query(
            "select distinct trigger_type, variant_id, compared_with "
            "from marts.fct_email_variant_lift where locale = 'all'"
        )
    )
    assert comparisons == {
        ("inactive_nudge", "control", "holdout"),
        ("inactive_nudge", "control", "progress_waiting"),
        ("inactive_nudge", "progress_waiting", "holdout"),
        ("inactive_nudge", "progress_waiting", "control"),
    }


def test_an_unsubscribed_address_is_never_sent_to(demo_pipeline):
    unsubscribed = demo_pipeline.scalar("select count(*) from staging.stg_sendgrid__unsubscribes")
    assert unsubscribed > 0
    sent_after_opt_out = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads as payloads "
        "join staging.stg_sendgrid__unsubscribes as opt_outs "
        "on payloads.email = opt_outs.email and opt_outs.unsubscribe_group is null "
        "and cast(opt_outs.unsubscribed_at as date) <= payloads.triggered_on"
    )
    accepted_after_opt_out = demo_pipeline.scalar(
        "select count(*) from email.rendered_emails as rendered "
        "join email.send_ledger using (send_key) "
        "join staging.stg_sendgrid__unsubscribes as opt_outs on rendered.to_email = opt_outs.email "
        "where send_ledger.status = 'accepted' and opt_outs.unsubscribe_group is null"
    )
    assert sent_after_opt_out == 0
    assert accepted_after_opt_out == 0


def test_the_due_emails_were_sent_once_to_the_outbox(demo_pipeline):
    due = demo_pipeline.scalar(
        "select count(*) from email.rpt_email_payloads "
        "where triggered_on between date '2026-03-30' and date '2026-03-31'"
    )
    accepted = demo_pipeline.scalar(
        "select count(*) from email.send_ledger where status = 'accepted'"
    )
    assert due > 0
    assert accepted == due


def mart_nodes() -> list[dict]:
    """The manifest's models of schemas `marts` and `email` (the marts and the payloads)."""
    manifest = json.loads(flywheel_dbt.manifest_path.read_text())
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "email")
    ]


def test_descriptions_are_the_comments_of_the_marts(demo_pipeline):
    """persist_docs: a BI tool shows each mart's and column's description, doc blocks
    rendered, as the table's and column's comment."""
    tables = {  # and views: fct_cohort_benchmarks_v1 is a view of v2
        (schema, table): comment
        for schema, table, comment in demo_pipeline.query(
            "select schema_name, table_name, comment from duckdb_tables() "
            "where schema_name in ('marts', 'email') "
            "union all select schema_name, view_name, comment from duckdb_views() "
            "where schema_name in ('marts', 'email')"
        )
    }
    columns = {
        (schema, table, column): comment
        for schema, table, column, comment in demo_pipeline.query(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where schema_name in ('marts', 'email')"
        )
    }
    nodes = mart_nodes()
    assert len(nodes) >= 20
    comments = []
    for node in nodes:
        relation = (node["schema"], node["alias"])
        assert tables[relation] == node["description"], relation
        comments.append(tables[relation])
        for name, column in node["columns"].items():
            assert columns[(*relation, name)] == column["description"], (*relation, name)
            comments.append(columns[(*relation, name)])
    assert all(comments), "a table or column without a comment"
    assert not [comment for comment in comments if "{{" in comment or "doc(" in comment]
    # a doc block (models/marts/activity/_activity__docs.md) arrives as its text
    assert columns[("marts", "fct_user_activity_daily", "user_id")].startswith("The user")


def test_every_mart_has_its_grain_as_primary_key(demo_pipeline):
    keys = {
        (schema, table): columns
        for schema, table, columns in demo_pipeline.query(
            "select schema_name, table_name, constraint_column_names from duckdb_constraints() "
            "where constraint_type = 'PRIMARY KEY' and schema_name in ('marts', 'email')"
        )
    }
    assert keys[("marts", "fct_user_activity_daily")] == ["user_id", "activity_date"]
    assert keys[("email", "rpt_email_payloads")] == ["send_key"]
    # a view holds no constraint (fct_cohort_benchmarks_v1: its table, v2, has the key)
    relations = {
        (node["schema"], node["alias"])
        for node in mart_nodes()
        if node["config"]["materialized"] != "view"
    }
    assert len(relations) >= 20
    assert sorted(relations - set(keys)) == []


@pytest.fixture(scope="module")
def metricflow(demo_pipeline, tmp_path_factory):
    """`mf` (MetricFlow's CLI) on a copy of the demo warehouse: each call returns its CSV rows."""
    warehouse = tmp_path_factory.mktemp("metricflow") / "flywheel.duckdb"
    shutil.copyfile(demo_pipeline.warehouse, warehouse)
    key = Settings(_env_file=None).email_hash_key()
    environment = (
        os.environ
        | dbt_environment(key)
        | {"FLYWHEEL_WAREHOUSE": str(warehouse), "DBT_TARGET": "duckdb"}
    )

    def mf(*args: str) -> subprocess.CompletedProcess:
        # mf reads the project's target/semantic_manifest.json (written by the session's
        # parse, tests/conftest.py) and runs from the project folder
        return subprocess.run(
            [str(MF), *args],
            cwd=flywheel_dbt.project_dir,
            env=environment,
            capture_output=True,
            text=True,
        )

    def query(metrics: list[str], group_by: list[str], where: str | None = None) -> list[dict]:
        output = warehouse.with_name("query.csv")
        output.unlink(missing_ok=True)
        filters = ["--where", where] if where else []
        result = mf(
            "query",
            "--metrics",
            ",".join(metrics),
            "--group-by",
            ",".join(group_by),
            *filters,
            "--csv",
            str(output),
        )
        assert result.returncode == 0 and output.exists(), result.stdout[-4000:]
        with output.open() as rows:
            return list(csv.DictReader(rows))

    query.mf = mf
    return query


def test_the_semantic_layer_validates_against_the_warehouse(metricflow):
    result = metricflow.mf("validate-configs")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERRORS: 0" in result.stdout
    assert "against data warehouse" in result.stdout


def test_activity_metrics_equal_the_monthly_mart(demo_pipeline: Pipeline, metricflow):
    """active_users, tasks_completed and hours_saved per month by MetricFlow, from the daily
    activity, and the same figures summed from fct_account_activity_monthly."""
    rows = metricflow(["active_users", "tasks_completed", "hours_saved"], ["metric_time__month"])
    measured = {
        row["metric_time__month"][:10]: (
            int(row["active_users"]),
            int(row["tasks_completed"]),
            float(row["hours_saved"]),
        )
        for row in rows
        if int(row["active_users"]) > 0
    }
    expected = {
        str(month): (active_users, tasks, hours)
        for month, active_users, tasks, hours in demo_pipeline.query(
            "select month, sum(active_users), sum(tasks_completed), sum(minutes_saved) / 60.0 "
            "from marts.fct_account_activity_monthly group by month having sum(active_users) > 0"
        )
    }
    assert len(expected) >= 6
    assert sorted(measured) == sorted(expected)
    for month, (active_users, tasks, hours) in expected.items():
        assert measured[month][:2] == (active_users, tasks), month
        assert math.isclose(measured[month][2], hours, rel_tol=1e-9), month


def test_users_per_stage_and_emails_sent_equal_the_marts(demo_pipeline: Pipeline, metricflow):
    on_the_last_day = f"{{{{ TimeDimension('metric_time', 'day') }}}} = '{END_DATE}'"
    stages = metricflow(["users_in_stage"], ["engagement_stage__stage"], on_the_last_day)
    expected_stages = dict(
        demo_pipeline.query(
            "select stage, count(*) from marts.fct_engagement_stages "
            "where entity_type = 'user' and as_of_date = ? group by stage",
            [END_DATE],
        )
    )
    assert len(expected_stages) == 4
    measured_stages = {row["engagement_stage__stage"]: int(row["users_in_stage"]) for row in stages}
    assert measured_stages == expected_stages

    sends = metricflow(["emails_sent"], ["email__trigger_type"])
    expected_sends = dict(
        demo_pipeline.query(
            "select trigger_type, sum(sends) from marts.fct_email_effect "
            "group by trigger_type having sum(sends) > 0"
        )
    )
    assert sum(expected_sends.values()) > 0
    measured_sends = {
        row["email__trigger_type"]: int(row["emails_sent"])
        for row in sends
        if int(row["emails_sent"]) > 0
    }
    assert measured_sends == expected_sends
