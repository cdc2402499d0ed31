"""Previews of every e-mail, as a browsable gallery to sign e-mails off with: each template in
each supported language, for sample payloads.

`flywheel preview [--out DIR]` writes one `.html` and `.txt` file per message, an inbox view
(`index.html`: sender, subject and preheader with their lengths) and a page per sample with its
languages side by side (`gallery.py`). The samples are real e-mails of the warehouse when it
has some (per trigger type, its typical and extreme ones: `real_payloads.py`), else the fixed
payloads below; `--send-key` and `--user` preview real e-mails of one reader.

The fixed payloads have every column of `email.rpt_email_payloads`, hold together (a current
streak never longer than the longest one) and cover the cases the templates branch on: a
published peer cohort or an anonymised one, above or below the average, 0, 1 or 2
recommendations, the top of a ladder, a missing or very long first name, and counts that take
each plural form (1, 2, 5, 21).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.emails.gallery import write_gallery
from orchestration.emails.groups import trigger_types
from orchestration.emails.i18n import negotiate_locale
from orchestration.emails.message import RenderedEmail
from orchestration.emails.real_payloads import (
    WarehouseUnavailable,
    for_preview,
    sample_payloads_by_trigger,
)
from orchestration.emails.render import render_email
from orchestration.settings import REPO_ROOT, Settings

PREVIEW_LOCALES = ("en", "fr", "ru")  # the supported locales; any other falls back to en

LONG_RUSSIAN_NAME = "Александра-Анастасия Константиновна"

# One payload row as rpt_email_payloads has it, for a user at Pro level on the
# performance ladder, in a published cohort, above the average, with two recommendations.
BASE_PAYLOAD: dict[str, Any] = {
    "send_key": "usr_preview:template:period",
    "user_id": "usr_preview",
    "account_id": "acc_preview",
    "email": "anna.martin@example.com",
    "first_name": "Anna",
    "locale": "en",
    "timezone": "Europe/Paris",
    "trigger_type": None,
    "template": None,
    "triggered_on": dt.date(2026, 3, 2),
    "priority": 50,
    "cta_id": None,  # per trigger type, from seed trigger_priorities (sample_payloads)
    "cta_path": None,
    "detail_metric": None,
    "detail_value": None,
    "stage": "optimize",
    "ladder": "performance",
    "level": "Pro",
    "next_level": "Expert",
    "progress_pct": 40.0,
    "remaining_to_next": 15.0,
    "next_requirement": "optimized actions in 28 days",
    "current_streak_days": 5,
    "longest_streak_days": 12,
    "active_days_7d": 5,
    "active_days_28d": 18,
    "tasks_mtd": 45,
    "workflows_mtd": 12,
    "reports_mtd": 6,
    "hours_saved_7d": 3.5,
    "hours_saved_28d": 12.0,
    "hours_saved_qtd": 42.0,
    "work_weeks_saved_qtd": 1.05,
    "employee_band": "51-200",
    "account_tasks_this_month": 347.0,
    "cohort_avg_tasks": 301.7,
    "account_pct_vs_cohort_avg": 15.0,
    "account_percentile_rank": 92.0,
    "user_pct_vs_team_avg": 12.0,
    "cohort_scope": "size_band",
    "account_is_top_percent": True,
    "account_vs_cohort_is_capped": False,
    "user_vs_team_is_capped": False,
    "max_comparison_ratio": 3.0,
    "user_stage_percentile_rank": 93.0,
    "user_is_top_percent": True,
    "top_percent": 10.0,
    "recommendation_1": "use_bulk_actions",
    "recommendation_1_hours_per_week": 3.0,
    "recommendation_1_cta_id": "use_bulk_actions",
    "recommendation_1_app_path": "/workflows?view=bulk",
    "recommendation_2": "automate_reports",
    "recommendation_2_hours_per_week": 1.5,
    "recommendation_2_cta_id": "automate_reports",
    "recommendation_2_app_path": "/automations/new?template=report",
    # Trigger-specific columns, null for the other trigger types (set by SCENARIOS).
    "week_start": None,
    "week_end": None,
    "week_active_days": None,
    "week_tasks": None,
    "week_workflows": None,
    "week_reports": None,
    "week_hours_saved": None,
    "previous_best": None,
    "onboarding_steps_done": None,
    "onboarding_steps_required": None,
    "detail_badge": None,
    "new_badges": None,
    "team_hours_saved_28d": None,
    "next_ladder": None,
    "next_ladder_next_level": None,
    "report_month": None,
    "team_hours_saved_month": None,
    "team_active_users": None,
    "team_seats": None,
    "team_users_implement": None,
    "team_users_reinforce": None,
    "team_users_optimize": None,
    "team_users_expand": None,
    "top_contributor_1_name": None,
    "top_contributor_1_hours_saved": None,
    "top_contributor_1_tasks": None,
    "top_contributor_2_name": None,
    "top_contributor_2_hours_saved": None,
    "top_contributor_2_tasks": None,
    "top_contributor_3_name": None,
    "top_contributor_3_hours_saved": None,
    "top_contributor_3_tasks": None,
}

# Scenario b: an anonymised cohort (fewer than min_cohort_size peers), one recommendation,
# no first name. Scenario c: below the cohort average, no recommendation, a long name.
_ANONYMISED = {
    "cohort_avg_tasks": None,
    "account_pct_vs_cohort_avg": None,
    "account_percentile_rank": None,
    "cohort_scope": None,
    "account_is_top_percent": None,
    "account_vs_cohort_is_capped": None,
    "user_stage_percentile_rank": None,
    "user_is_top_percent": None,
    "first_name": None,
    "recommendation_2": None,
    "recommendation_2_hours_per_week": None,
}
_BELOW_AVERAGE = {
    "account_tasks_this_month": 120.0,
    "cohort_avg_tasks": 301.7,
    "account_pct_vs_cohort_avg": -60.2,
    "account_percentile_rank": 20.0,
    "account_is_top_percent": False,
    "user_pct_vs_team_avg": -35.0,
    "user_stage_percentile_rank": 30.0,
    "user_is_top_percent": False,
    "first_name": LONG_RUSSIAN_NAME,
    "recommendation_1": None,
    "recommendation_1_hours_per_week": None,
    "recommendation_2": None,
    "recommendation_2_hours_per_week": None,
}
_TOP_OF_USAGE = {
    "stage": "reinforce",
    "ladder": "usage_tier",
    "level": "Platinum",
    "next_level": None,
    "progress_pct": 100.0,
    "remaining_to_next": None,
    "next_requirement": None,
}
# The ISO week a weekly report fired on Monday 2026-03-02 reports (user-local days).
_REPORTED_WEEK = {"week_start": dt.date(2026, 2, 23), "week_end": dt.date(2026, 3, 1)}

_ONBOARDING = {
    "stage": "implement",
    "ladder": "onboarding",
    "level": "Explorer",
    "next_level": "Builder",
    "progress_pct": 50.0,
    "remaining_to_next": 1.0,
    "next_requirement": "onboarding steps completed",
}

SCENARIOS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "milestone_reached": [
        (
            "a",
            "100 tasks, published cohort, 2 recommendations",
            {
                "detail_metric": "tasks_completed",
                "detail_value": Decimal("100"),
                "remaining_to_next": 21.0,
            },
        ),
        (
            "b",
            "50 reports, anonymised cohort, 1 recommendation",
            {
                **_ANONYMISED,
                "detail_metric": "reports_generated",
                "detail_value": Decimal("50"),
                "remaining_to_next": 2.0,
            },
        ),
        (
            "c",
            "10 workflows, no recommendation, top of the ladder",
            {
                **_BELOW_AVERAGE,
                **_TOP_OF_USAGE,
                "detail_metric": "workflows_completed",
                "detail_value": Decimal("10"),
            },
        ),
        (
            "d",
            "the Power User badge",
            {
                "detail_metric": "optimized_actions_28d",
                "detail_value": Decimal("30"),
                "detail_badge": "power_user",
            },
        ),
    ],
    "inactive_nudge": [
        (
            "a",
            "10 days, 2 recommendations",
            {
                "current_streak_days": 0,  # inactive: no streak running
                "detail_metric": "days_inactive",
                "detail_value": Decimal("10"),
                "longest_streak_days": 21,
            },
        ),
        (
            "b",
            "10 days, 1 recommendation, no first name",
            {
                **_ANONYMISED,
                "current_streak_days": 0,
                "detail_metric": "days_inactive",
                "detail_value": Decimal("10"),
                "longest_streak_days": 2,
            },
        ),
        (
            "c",
            "21 days, no recommendation, long name",
            {
                **_BELOW_AVERAGE,
                **_ONBOARDING,
                "current_streak_days": 0,
                "detail_metric": "days_inactive",
                "detail_value": Decimal("21"),
                "longest_streak_days": 1,
            },
        ),
    ],
    "feature_adoption_prompt": [
        (
            "a",
            "21 reports in 28 days, 2 recommendations",
            {
                "detail_metric": "reports_28d",
                "detail_value": Decimal("21"),
                "recommendation_1": "automate_reports",
                "recommendation_1_hours_per_week": 2.0,
                "recommendation_2": "schedule_reports",
                "recommendation_2_hours_per_week": 1.0,
            },
        ),
        (
            "b",
            "schedules but no report (0), 1 recommendation",
            {
                **_ANONYMISED,
                "detail_metric": "reports_28d",
                "detail_value": Decimal("0"),
                "recommendation_1": "automate_reports",
                "recommendation_1_hours_per_week": 2.5,
            },
        ),
        (
            "c",
            "5 reports, no recommendation",
            {
                **_BELOW_AVERAGE,
                "detail_metric": "reports_28d",
                "detail_value": Decimal("5"),
                "level": None,
                "next_level": "Pro",
                "remaining_to_next": 5.0,
                "progress_pct": None,
            },
        ),
    ],
    "level_up": [
        (
            "a",
            "Pro reached, 21 actions to Expert",
            {
                "detail_metric": "optimized_actions_28d",
                "detail_value": Decimal("9"),
                "progress_pct": 16.0,
                "remaining_to_next": 21.0,
            },
        ),
        (
            "b",
            "Builder reached, 1 integration to Integrator",
            {
                **_ANONYMISED,
                "stage": "implement",
                "ladder": "onboarding",
                "level": "Builder",
                "next_level": "Integrator",
                "progress_pct": None,
                "remaining_to_next": 1.0,
                "next_requirement": "integrations connected",
                "detail_metric": "integrations_total",
                "detail_value": Decimal("0"),
            },
        ),
        (
            "c",
            "Platinum: the top of the ladder, Pro next on the performance ladder",
            {
                **_BELOW_AVERAGE,
                **_TOP_OF_USAGE,
                "detail_metric": "active_days_28d",
                "detail_value": Decimal("24"),
                "next_ladder": "performance",
                "next_ladder_next_level": "Pro",
            },
        ),
        (
            "d",
            "Advocate: the highest level there is",
            {
                "stage": "expand",
                "ladder": "mastery",
                "level": "Advocate",
                "next_level": None,
                "progress_pct": 100.0,
                "remaining_to_next": None,
                "next_requirement": None,
                "detail_metric": "invites_total",
                "detail_value": Decimal("3"),
            },
        ),
    ],
    "personal_best": [
        (
            "a",
            "21 tasks in a week",
            {
                "detail_metric": "tasks_completed",
                "detail_value": Decimal("21"),
                "previous_best": 15,
            },
        ),
        (
            "b",
            "5 workflows in a week, 1 recommendation",
            {
                **_ANONYMISED,
                "detail_metric": "workflows_completed",
                "detail_value": Decimal("5"),
                "previous_best": 1,
                "tasks_mtd": 1,
                "workflows_mtd": 2,
                "reports_mtd": 5,
            },
        ),
        (
            "c",
            "12 reports in a week, no recommendation",
            {
                **_BELOW_AVERAGE,
                "detail_metric": "reports_generated",
                "detail_value": Decimal("12"),
                "previous_best": 2,
                "tasks_mtd": 21,
                "workflows_mtd": None,
                "reports_mtd": 22,
            },
        ),
    ],
    "streak_milestone": [
        (
            "a",
            "14 days in a row",
            {
                "detail_metric": "current_streak_days",
                "detail_value": Decimal("14"),
                "current_streak_days": 14,
                "longest_streak_days": 21,
            },
        ),
        (
            "b",
            "30 days in a row, 1 recommendation",
            {
                **_ANONYMISED,
                "detail_metric": "current_streak_days",
                "detail_value": Decimal("30"),
                "current_streak_days": 30,
                "longest_streak_days": 30,
            },
        ),
        (
            "c",
            "7 days in a row, top of the ladder",
            {
                **_BELOW_AVERAGE,
                **_TOP_OF_USAGE,
                "detail_metric": "current_streak_days",
                "detail_value": Decimal("7"),
                "current_streak_days": 7,
                "longest_streak_days": 22,
            },
        ),
    ],
    "onboarding_stuck": [
        (
            "a",
            "1 step done, 2 recommendations",
            {
                **_ONBOARDING,
                "detail_metric": "onboarding_steps_total",
                "detail_value": Decimal("1"),
                "onboarding_steps_done": 1,
                "onboarding_steps_required": 5,
                "remaining_to_next": 2.0,
                "progress_pct": None,
                "recommendation_1": "finish_onboarding",
                "recommendation_1_hours_per_week": 1.0,
                "recommendation_2": "connect_crm",
                "recommendation_2_hours_per_week": 1.5,
            },
        ),
        (
            "b",
            "2 steps done, 1 recommendation",
            {
                **_ANONYMISED,
                **_ONBOARDING,
                "detail_metric": "onboarding_steps_total",
                "detail_value": Decimal("2"),
                "onboarding_steps_done": 2,
                "onboarding_steps_required": 5,
                "recommendation_1": "finish_onboarding",
                "recommendation_1_hours_per_week": 1.0,
            },
        ),
        (
            "c",
            "3 steps done (Builder), no recommendation",
            {
                **_BELOW_AVERAGE,
                **_ONBOARDING,
                "level": "Builder",
                "next_level": "Integrator",
                "progress_pct": None,
                "remaining_to_next": 1.0,
                "next_requirement": "integrations connected",
                "detail_metric": "onboarding_steps_total",
                "detail_value": Decimal("3"),
                "onboarding_steps_done": 3,
                "onboarding_steps_required": 5,
            },
        ),
    ],
    "weekly_report": [
        (
            "a",
            "5 active days, top 10% of the cohort, 42 h saved",
            {
                **_REPORTED_WEEK,
                "detail_metric": "last_week_active_days",
                "detail_value": Decimal("5"),
                "week_active_days": 5,
                "week_tasks": 21,
                "week_workflows": 5,
                "week_reports": 2,
                "week_hours_saved": 3.5,
                "current_streak_days": 21,
                "longest_streak_days": 30,  # never shorter than the current streak
                "new_badges": "streak_14,power_user",
            },
        ),
        (
            "b",
            "2 active days, anonymised cohort, 1.5 h saved",
            {
                **_ANONYMISED,
                **_REPORTED_WEEK,
                "detail_metric": "last_week_active_days",
                "detail_value": Decimal("2"),
                "week_active_days": 2,
                "week_tasks": 2,
                "week_workflows": 1,
                "week_reports": 11,
                "week_hours_saved": 0.5,
                "hours_saved_7d": 0.5,
                "hours_saved_qtd": 1.5,
                "work_weeks_saved_qtd": 0.0375,
                "tasks_mtd": 2,
                "workflows_mtd": 1,
                "reports_mtd": 21,
                "stage": "reinforce",
                "ladder": "usage_tier",
                "level": "Silver",
                "next_level": "Gold",
                "progress_pct": 62.5,
                "remaining_to_next": 3.0,
                "next_requirement": "active days in 28 days",
            },
        ),
        (
            "c",
            "far ahead of the team and of similar companies: capped comparisons",
            {
                **_REPORTED_WEEK,
                "detail_metric": "last_week_active_days",
                "detail_value": Decimal("6"),
                "week_active_days": 6,
                "week_tasks": 140,
                "week_workflows": 30,
                "week_reports": 8,
                "week_hours_saved": 6.0,
                "cohort_scope": "similar_size",
                "account_pct_vs_cohort_avg": 410.0,
                "account_vs_cohort_is_capped": True,
                "user_pct_vs_team_avg": 2657.0,
                "user_vs_team_is_capped": True,
                "new_badges": "time_saver",
            },
        ),
        (
            "d",
            "1 active day, below the average, nothing saved yet",
            {
                **_BELOW_AVERAGE,
                **_REPORTED_WEEK,
                "detail_metric": "last_week_active_days",
                "detail_value": Decimal("1"),
                "week_active_days": 1,
                "week_tasks": None,
                "week_workflows": None,
                "week_reports": 1,
                "week_hours_saved": None,
                "current_streak_days": 0,
                "longest_streak_days": 3,
                "hours_saved_7d": None,
                "hours_saved_qtd": None,
                "work_weeks_saved_qtd": 0.0,
                "tasks_mtd": None,
                "workflows_mtd": None,
                "reports_mtd": 1,
                "stage": "reinforce",
                "ladder": "usage_tier",
                "level": "Bronze",
                "next_level": "Silver",
                "progress_pct": None,
                "remaining_to_next": 7.0,
                "next_requirement": "active days in 28 days",
            },
        ),
    ],
    "expansion_invite": [
        (
            "a",
            "the team saved 64 h in 28 days, top 10%",
            {
                "team_hours_saved_28d": 64.0,
                "stage": "expand",
                "ladder": "mastery",
                "level": "Champion",
                "next_level": "Advocate",
                "progress_pct": 33.3,
                "remaining_to_next": 2.0,
                "next_requirement": "colleagues invited",
            },
        ),
        (
            "b",
            "the team saved 21 h in 28 days, anonymised cohort",
            {
                **_ANONYMISED,
                "team_hours_saved_28d": 21.0,
                "hours_saved_qtd": 21.0,
                "work_weeks_saved_qtd": 0.525,
                "stage": "expand",
                "ladder": "mastery",
                "level": None,
                "next_level": "Champion",
                "progress_pct": 75.0,
                "remaining_to_next": 1.5,
                "next_requirement": "hours saved in 28 days",
            },
        ),
        (
            "c",
            "the team saved 20 h in 28 days, below the average, no progress to Advocate yet",
            {
                **_BELOW_AVERAGE,
                "team_hours_saved_28d": 20.0,
                "hours_saved_qtd": 3.5,
                "work_weeks_saved_qtd": 0.0875,
                "stage": "expand",
                "ladder": "mastery",
                "level": "Champion",
                "next_level": "Advocate",
                "progress_pct": None,
                "remaining_to_next": 3.0,
                "next_requirement": "colleagues invited",
            },
        ),
    ],
}

# The monthly team report on February 2026 (dated its last day), to Anna, an admin: a
# 15-seat account whose 12 active users are the 12 of its stage mix, whose contributors'
# hours fit in the team's, with its one account-scope recommendation (connect_crm, 0.3 h a
# week for each of 5 users); and a one-person team's quiet month with nothing to compare.
_TEAM_MONTH = {
    "triggered_on": dt.date(2026, 2, 28),
    "detail_metric": "team_active_users",
    "detail_value": Decimal("12"),
    "report_month": dt.date(2026, 2, 1),
    "team_hours_saved_month": 38.5,
    "team_active_users": 12,
    "team_seats": 15,
    "team_users_implement": 2,
    "team_users_reinforce": 5,
    "team_users_optimize": 4,
    "team_users_expand": 1,
    "top_contributor_1_name": "Marc",
    "top_contributor_1_hours_saved": 12.5,
    "top_contributor_1_tasks": 64,
    "top_contributor_2_name": "Anna",
    "top_contributor_2_hours_saved": 9.0,
    "top_contributor_2_tasks": 41,
    "top_contributor_3_name": "Léa",
    "top_contributor_3_hours_saved": 0.75,
    "top_contributor_3_tasks": 21,
    "recommendation_1": "connect_crm",
    "recommendation_1_hours_per_week": 1.5,
    "recommendation_1_cta_id": "connect_crm",
    "recommendation_1_app_path": "/settings/integrations/crm",
    "recommendation_2": None,
    "recommendation_2_hours_per_week": None,
    "recommendation_2_cta_id": None,
    "recommendation_2_app_path": None,
}
SCENARIOS["monthly_team_report"] = [
    ("a", "38.5 h saved by 12 active users of 15 seats, top 10%, 3 contributors", _TEAM_MONTH),
    (
        "b",
        "1 active user, under 3 minutes saved, anonymised cohort, no recommendation",
        {
            **_TEAM_MONTH,
            **_ANONYMISED,
            "first_name": "Anna",
            "detail_value": Decimal("1"),
            "account_tasks_this_month": 2.0,
            "team_hours_saved_month": None,
            "team_active_users": 1,
            "team_seats": None,
            "team_users_implement": 1,
            "team_users_reinforce": None,
            "team_users_optimize": None,
            "team_users_expand": None,
            "top_contributor_1_name": "Anna",
            "top_contributor_1_hours_saved": None,
            "top_contributor_1_tasks": 2,
            "top_contributor_2_name": None,
            "top_contributor_2_hours_saved": None,
            "top_contributor_2_tasks": None,
            "top_contributor_3_name": None,
            "top_contributor_3_hours_saved": None,
            "top_contributor_3_tasks": None,
            "recommendation_1": None,
            "recommendation_1_hours_per_week": None,
            "recommendation_1_cta_id": None,
            "recommendation_1_app_path": None,
        },
    ),
]


@dataclass(frozen=True)
class Sample:
    """One payload the gallery shows, rendered in every preview locale."""

    template: str
    scenario: str
    description: str
    payload: dict[str, Any]
    source: str = "fixture"  # or "warehouse": a real e-mail, its address replaced


@dataclass(frozen=True)
class Preview:
    template: str
    scenario: str
    description: str
    locale: str  # as asked; the e-mail's own locale says what it was rendered in
    email: RenderedEmail
    source: str = "fixture"
    reader_locale: str | None = None  # a real e-mail's own locale

    @property
    def stem(self) -> str:
        return f"{self.template}--{self.scenario}--{self.locale}"


def trigger_calls_to_action() -> dict[str, dict[str, str]]:
    """cta_id and cta_path per trigger type, as seed trigger_priorities gives the payloads."""
    seed = REPO_ROOT / "dbt_project" / "seeds" / "trigger_priorities.csv"
    with seed.open(encoding="utf-8", newline="") as rows:
        return {
            row["trigger_type"]: {"cta_id": row["cta_id"], "cta_path": row["cta_path"]}
            for row in csv.DictReader(rows)
        }


def sample_payloads() -> list[tuple[str, str, dict[str, Any]]]:
    """(scenario, description, payload) for every template and scenario, in English."""
    samples = []
    calls_to_action = trigger_calls_to_action()
    for template in trigger_types():
        for scenario, description, overrides in SCENARIOS[template]:
            payload = {
                **BASE_PAYLOAD,
                **overrides,
                **calls_to_action[template],
                "template": template,
                "trigger_type": template,
                "send_key": f"usr_preview:{template}:{scenario}",
            }
            samples.append((scenario, description, payload))
    return samples


def fixture_samples() -> list[Sample]:
    """The fixed sample payloads (SCENARIOS), every template."""
    return [
        Sample(payload["template"], scenario, description, payload)
        for scenario, description, payload in sample_payloads()
    ]


def gallery_samples(settings: Settings) -> tuple[list[Sample], str]:
    """The gallery's samples and where they come from: per trigger type, its typical and
    extreme real e-mails when the warehouse (FLYWHEEL_WAREHOUSE) has some, else the fixtures."""
    fixtures = fixture_samples()
    try:
        real = sample_payloads_by_trigger(settings.warehouse, trigger_types())
    except WarehouseUnavailable as reason:
        return fixtures, f"fixed sample payloads ({reason})"
    samples = []
    for template in trigger_types():
        if template in real:
            samples += [
                Sample(template, r.case, r.description, r.payload, "warehouse")
                for r in real[template]
            ]
        else:
            samples += [sample for sample in fixtures if sample.template == template]
    missing = [t for t in trigger_types() if t not in real]
    note = f"real e-mails of {settings.warehouse} (addresses replaced)"
    if missing:
        note += f"; fixed sample payloads for {', '.join(missing)} (none in the warehouse)"
    return samples, note


def real_samples(payloads: list[dict[str, Any]]) -> list[Sample]:
    """Samples of real payload rows (`flywheel preview --send-key/--user`), addresses
    replaced; each is named after the day it was triggered on."""
    return [
        Sample(
            payload["template"],
            str(payload["triggered_on"]),
            f"{payload['send_key']} (the reader's language: {payload['locale']})",
            for_preview(payload),
            "warehouse",
        )
        for payload in payloads
    ]


def render_previews(settings: Settings, samples: list[Sample] | None = None) -> list[Preview]:
    """Every sample (default: the fixtures) in every preview locale."""
    previews = []
    for sample in fixture_samples() if samples is None else samples:
        reader_locale = (
            negotiate_locale(sample.payload["locale"]) if sample.source == "warehouse" else None
        )
        for locale in PREVIEW_LOCALES:
            email = render_email({**sample.payload, "locale": locale}, settings)
            previews.append(
                Preview(
                    sample.template,
                    sample.scenario,
                    sample.description,
                    locale,
                    email,
                    sample.source,
                    reader_locale,
                )
            )
    return previews


def build_previews(
    out_dir: Path,
    settings: Settings,
    samples: list[Sample] | None = None,
    source_note: str | None = None,
) -> Path:
    """Write every preview of `samples` (default: `gallery_samples`) and the gallery into
    `out_dir`; return the gallery's path (its inbox view)."""
    if samples is None:
        samples, source_note = gallery_samples(settings)
    previews = render_previews(settings, samples)
    return write_gallery(out_dir, previews, settings, source_note or "fixed sample payloads")
