"""End to end through the schedules: the weekly report holds the user's whole local week,
Sunday evening included, in every time zone, and goes out on Monday at the local hour.

A hand-written data set, the ISO week 2026-W13 (Monday 23 to Sunday 29 March 2026): in Los
Angeles (UTC-7 then) the Sunday evening happens on the UTC Monday, after the end of the
Sunday partition. The weekly report schedule is evaluated at the ticks Dagster would run and
each run it requests is executed, as the daemon would launch it.
"""

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.emails import weekly_report
from orchestration.emails.delivery import DeliveryRules
from orchestration.runner import run_request
from orchestration.schedules import weekly_report_schedule
from tests.pipeline import Pipeline

WEEK_END = date(2026, 3, 29)
LOS_ANGELES, TOKYO, ANCHORAGE = "America/Los_Angeles", "Asia/Tokyo", "America/Anchorage"

USERS = {  # user: time zone
    "usr_lax": LOS_ANGELES,
    "usr_lax_sunday": LOS_ANGELES,
    "usr_tyo": TOKYO,
    "usr_anc": ANCHORAGE,
}

# (user, event, UTC instant): each user was first active in the week before (17 March), so
# the week's own triggers are the weekly reports alone.
EVENTS = [
    *[(user, "session_started", "2026-03-17T20:00:00Z") for user in ("usr_lax", "usr_lax_sunday")],
    *[(user, "session_started", "2026-03-17T03:00:00Z") for user in ("usr_tyo", "usr_anc")],
    # Los Angeles: Wednesday, Friday and Sunday evening (19:00 and 19:30 PDT: the UTC Monday)
    ("usr_lax", "task_completed", "2026-03-25T19:00:00Z"),
    ("usr_lax", "session_started", "2026-03-27T19:00:00Z"),
    ("usr_lax", "task_completed", "2026-03-30T02:00:00Z"),
    ("usr_lax", "workflow_completed", "2026-03-30T02:30:00Z"),
    # Los Angeles: active on Sunday evening only (18:00 PDT)
    ("usr_lax_sunday", "task_completed", "2026-03-30T01:00:00Z"),
    # Tokyo: Tuesday and Sunday evening (20:00 JST, 11:00 UTC on Sunday)
    ("usr_tyo", "task_completed", "2026-03-24T03:00:00Z"),
    ("usr_tyo", "task_completed", "2026-03-29T11:00:00Z"),
    # Anchorage: Thursday and Sunday evening (20:00 AKDT, 04:00 UTC on Monday)
    ("usr_anc", "task_completed", "2026-03-26T20:00:00Z"),
    ("usr_anc", "task_completed", "2026-03-30T04:00:00Z"),
]


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_raw(raw: Path) -> None:
    account = "acc_0001"
    write_csv(
        raw / "accounts" / "accounts.csv",
        [
            {
                "account_id": account,
                "account_name": "Example",
                "industry": "software",
                "employee_count": "40",
                "plan": "pro",
                "seats": "10",
                "created_at": "2026-03-01T00:00:00Z",
                "country": "US",
            }
        ],
    )
    write_csv(
        raw / "users" / "users.csv",
        [
            {
                "user_id": user,
                "account_id": account,
                "email": f"{user}@example.com",
                "first_name": user.split("_")[1].title(),
                "locale": "en-US",
                "timezone": timezone,
                "role": "member",
                "created_at": "2026-03-02T00:00:00Z",
            }
            for user, timezone in USERS.items()
        ],
    )
    write_csv(
        raw / "events" / "events.csv",
        [
            {
                "event_id": f"evt_{n:03d}",
                "user_id": user,
                "account_id": account,
                "event_name": event,
                "occurred_at": at,
                "properties": '{"bulk": false, "automated": false}'
                if event == "workflow_completed"
                else "{}",
            }
            for n, (user, event, at) in enumerate(EVENTS)
        ],
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# The weekly report at 08:00 local time, sent for one grace day.
RULES = {"FLYWHEEL_WEEKLY_REPORT_HOUR": 8, "FLYWHEEL_SEND_GRACE_DAYS": 1}


@pytest.fixture
def pipeline(tmp_path) -> Pipeline:
    pipeline = Pipeline(raw_dir=tmp_path / "raw", warehouse=tmp_path / "flywheel.duckdb")
    write_raw(pipeline.raw_dir)
    return pipeline


def tick(instance: dg.DagsterInstance, at: datetime) -> dg.RunRequest | dg.SkipReason:
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        resources={"delivery_rules": DeliveryRules(weekly_report_hour=8, grace_days=1)},
    ) as context:
        return weekly_report_schedule(context)


def run(instance: dg.DagsterInstance, request: dg.RunRequest, pipeline: Pipeline) -> None:
    resources = pipeline.resources(**RULES)
    assert run_request("weekly_report", request, instance=instance, resources=resources).success


def week(pipeline: Pipeline) -> dict[str, tuple]:
    """The weekly report payloads of the week: user → (active days, tasks, workflows)."""
    rows = pipeline.query(
        "select user_id, week_active_days, week_tasks, week_workflows "
        "from email.rpt_email_payloads where trigger_type = 'weekly_report' and week_end = ?",
        [WEEK_END],
    )
    return {user: tuple(numbers) for user, *numbers in rows}


def rendered(pipeline: Pipeline) -> dict[str, tuple]:
    """The reports the last run rendered: user → (time zone, local day due, local hour)."""
    rows = pipeline.query(
        "select split_part(send_key, ':', 1), timezone, due_on, delivery_hour "
        "from email.rendered_emails where trigger_type = 'weekly_report'"
    )
    return {user: tuple(slot) for user, *slot in rows}


def sent(pipeline: Pipeline) -> set[str]:
    rows = pipeline.query(
        "select send_key from email.send_ledger where status = 'accepted' and send_key like ?",
        ["%:weekly_report:2026-W13"],
    )
    return {send_key.split(":")[0] for (send_key,) in rows}


def test_every_zone_gets_its_whole_local_week_on_its_monday_morning(pipeline):
    monday = date(2026, 3, 30)
    with dg.instance_for_test() as instance:
        # Sunday 23:00 UTC, Monday 08:00 in Tokyo: the UTC Sunday has not closed yet
        assert isinstance(tick(instance, utc(2026, 3, 29, 23)), dg.SkipReason)

        # 00:00 UTC (09:00 in Tokyo): the run builds the Sunday that just closed and sends
        # Tokyo's report. In Los Angeles and Anchorage it is still Sunday afternoon: no report
        # yet, not even one without the evening.
        request = tick(instance, utc(2026, 3, 30, 0))
        assert request.asset_selection is None
        run(instance, request, pipeline)
        assert week(pipeline) == {"usr_tyo": (2, 2, None)}
        # what a report from that build would have said: 2 active days, 1 task, no workflow
        assert pipeline.query(
            "select count(*) filter (where is_active), sum(tasks_completed), "
            "sum(workflows_completed) from marts.fct_user_activity_daily "
            "where user_id = 'usr_lax' and activity_date between ? and ?",
            [date(2026, 3, 23), WEEK_END],
        ) == [(2, 1, 0)]
        assert rendered(pipeline) == {"usr_tyo": (TOKYO, monday, 8)}
        assert sent(pipeline) == {"usr_tyo"}

        # 15:00 UTC, Monday 08:00 in Los Angeles (its week ended at 07:00 UTC): the run
        # rebuilds the Sunday with the events up to now, Sunday evening included
        la_time = weekly_report.send_time(WEEK_END, LOS_ANGELES, hour=8)
        assert la_time == utc(2026, 3, 30, 15)
        request = tick(instance, la_time)
        assert request.asset_selection is None
        run(instance, request, pipeline)
        assert week(pipeline) == {
            "usr_tyo": (2, 2, None),
            # 3 active days, 2 tasks, 1 workflow, Sunday evening included
            "usr_lax": (3, 2, 1),
            "usr_lax_sunday": (1, 1, None),
            # its week has ended too, but its report is due at 16:00 UTC
            "usr_anc": (2, 2, None),
        }
        assert rendered(pipeline) == {
            "usr_tyo": (TOKYO, monday, 8),  # rendered again, sent once (below)
            "usr_lax": (LOS_ANGELES, monday, 8),
            "usr_lax_sunday": (LOS_ANGELES, monday, 8),
        }
        assert sent(pipeline) == {"usr_tyo", "usr_lax", "usr_lax_sunday"}

        # 16:00 UTC, Monday 08:00 in Anchorage: the last build holds that week, so the run
        # only renders and sends
        request = tick(instance, weekly_report.send_time(WEEK_END, ANCHORAGE, hour=8))
        assert request.asset_selection is not None
        run(instance, request, pipeline)
        assert rendered(pipeline)["usr_anc"] == (ANCHORAGE, monday, 8)
        assert sent(pipeline) == set(USERS)
        accepted = pipeline.scalar(
            "select count(*) from email.send_ledger where send_key like '%:weekly_report:%'"
        )
        assert accepted == len(USERS)  # one report per user and week
