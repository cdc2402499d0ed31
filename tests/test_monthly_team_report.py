"""The monthly team report on the demo data: real payloads of the built warehouse, rendered
in every locale, show the account's own month (its active users, its seats, its time saved),
its top contributors by first name from that account only, and a button with UTM
parameters."""

import html
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
from babel.dates import format_date

from orchestration.emails.i18n import SUPPORTED_LOCALES, Formatter
from orchestration.emails.render import render_email
from orchestration.settings import Settings

# A line of the top contributors list: "2. Anna: 9 hours saved" (fr: "Anna : ...")
CONTRIBUTOR_LINE = re.compile(r"^[123]\. (.+?)\xa0?: ", re.MULTILINE)


@pytest.fixture(scope="module")
def reports(demo_pipeline) -> list[dict]:
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        cursor = con.execute(
            "select * from email.rpt_email_payloads where trigger_type = 'monthly_team_report' "
            "order by send_key"
        )
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def account_months(demo_pipeline) -> dict[tuple[str, date], dict]:
    """Each account's month as the activity facts tell it, computed here from the daily
    facts: the users active in it, and the minutes each named user saved."""
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        rows = con.execute(
            "select users.account_id, date_trunc('month', activity.activity_date)::date, "
            "users.user_id, users.first_name, bool_or(activity.is_active), "
            "sum(activity.minutes_saved) "
            "from marts.fct_user_activity_daily as activity "
            "join staging.stg_product__users as users using (user_id) "
            "group by all"
        ).fetchall()
    months: dict[tuple[str, date], dict] = {}
    for account_id, month, user_id, first_name, active, minutes in rows:
        month_ = months.setdefault((account_id, month), {"active": set(), "minutes": {}})
        if active:
            month_["active"].add(user_id)
        if first_name is not None:
            month_["minutes"][user_id] = (first_name, minutes)
    return months


def test_the_demo_data_has_monthly_team_reports_of_every_kind(reports, demo_pipeline):
    assert len(reports) >= 20
    roles = demo_pipeline.query(
        "select distinct users.role from email.rpt_email_payloads as payloads "
        "join staging.stg_product__users as users using (user_id) "
        "where payloads.trigger_type = 'monthly_team_report'"
    )
    assert roles == [("admin",)]
    assert {report["triggered_on"].day for report in reports} >= {28, 31}  # February, March
    assert any(report["top_contributor_3_name"] is not None for report in reports)
    assert any(report["recommendation_1"] is not None for report in reports)
    assert any(report["team_hours_saved_month"] is not None for report in reports)
    assert any(report["team_seats"] is not None for report in reports)


def test_the_team_figures_are_the_accounts_month(reports, account_months):
    for report in reports:
        month = account_months[report["account_id"], report["report_month"]]
        assert report["team_active_users"] == len(month["active"]) > 0, report["send_key"]
        assert report["team_seats"] is None or report["team_seats"] >= len(month["active"])
        named = [name for name, _ in month["minutes"].values()]
        contributors = [report[f"top_contributor_{rank}_name"] for rank in (1, 2, 3)]
        assert {name for name in contributors if name} <= set(named), report["send_key"]
        if report["top_contributor_1_hours_saved"] is not None:
            most = max(minutes for _, minutes in month["minutes"].values())
            assert report["top_contributor_1_hours_saved"] == pytest.approx(most / 60)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_real_monthly_team_reports_render_in_every_locale(reports, account_months, locale):
    settings = Settings()
    formatter = Formatter(locale)
    for report in reports:
        email_ = render_email({**report, "locale": locale}, settings)
        month = format_date(report["report_month"], "LLLL", locale=locale)
        assert month in email_.subject, (report["send_key"], email_.subject)
        if report["team_hours_saved_month"] is not None:
            assert formatter.duration(report["team_hours_saved_month"]) in email_.subject
        else:
            assert formatter.number(report["team_active_users"]) in email_.subject
        assert formatter.number(report["team_active_users"]) in email_.text
        if report["team_seats"] is not None:
            assert formatter.number(report["team_seats"]) in email_.text

        # the contributors listed are the payload's, first names of the account's own users
        listed = CONTRIBUTOR_LINE.findall(email_.text)
        expected = [report[f"top_contributor_{rank}_name"] for rank in (1, 2, 3)]
        assert listed == [name for name in expected if name], report["send_key"]
        account = account_months[report["account_id"], report["report_month"]]
        assert set(listed) <= {name for name, _ in account["minutes"].values()}

        # the button: into the team report, with the UTM parameters of this e-mail
        button = re.search(r'<a [^>]*class="cta-link"[^>]*>', email_.html)
        assert button, report["send_key"]
        url = html.unescape(re.search(r'href="([^"]+)"', button.group(0)).group(1))
        assert urlsplit(url).path == "/admin/reports/team"
        assert parse_qs(urlsplit(url).query) == {
            "utm_source": ["flywheel"],
            "utm_medium": ["email"],
            "utm_campaign": ["monthly_team_report"],
            "utm_content": ["open_team_report"],
        }
        assert url in email_.text
