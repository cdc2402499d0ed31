"""The engagement marts on generated data: coverage, privacy, arbitration, sends."""

import json

from orchestration.email_hash import keyed_email_hash
from orchestration.emails.groups import trigger_types
from orchestration.settings import Settings
from tests.privacy import find_personal_data


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
