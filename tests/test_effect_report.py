"""The e-mail programme report: written by each run, read in headless Chromium as its
readers see it, and opened by `flywheel report`."""

import sys
import webbrowser
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
from click.testing import CliRunner
from rich.console import Console

from orchestration.cli import main
from orchestration.definitions import defs
from orchestration.report.assets import PROGRAMME_REPORT, REPORTED_MARTS, email_programme_report
from orchestration.report.data import read_programme_data
from orchestration.report.directory import ReportDirectory
from orchestration.report.render import TITLE, render_programme_report, trigger_title
from orchestration.resources import Warehouse
from orchestration.settings import Settings
from orchestration.summary import print_summary
from tests.pipeline import END_DATE, Pipeline

# What a reader sees of the page: each trigger type's section with its verdict, sentence,
# table rows and plot size, the stage-flow plot and the console errors.
PAGE_FACTS = """() => ({
    title: document.querySelector('h1').innerText,
    sections: [...document.querySelectorAll('section.trigger')].map(section => ({
        trigger_type: section.dataset.triggerType,
        heading: section.querySelector('h2').innerText,
        verdict: section.querySelector('h2 .verdict').innerText,
        sentence: section.querySelector('.sentence').innerText,
        lifts: [...section.querySelectorAll('tbody tr')].map(row => ({
            outcome: row.cells[0].innerText,
            lift: row.querySelector('.lift').innerText,
            verdict: row.querySelector('.verdict').innerText,
        })),
        plot: (() => {
            const svg = section.querySelector('figure.plot svg');
            if (!svg) return null;
            const box = svg.getBoundingClientRect();
            return {width: box.width, height: box.height, text: svg.textContent};
        })(),
    })),
    stage_plot: (() => {
        const box = document.querySelector('section.stage-flow svg').getBoundingClientRect();
        return {width: box.width, height: box.height};
    })(),
    overview: [...document.querySelectorAll('section.overview tbody tr')].map(
        row => [...row.cells].map(cell => cell.innerText)),
    width: document.documentElement.scrollWidth,
})"""


def read_page(browser, report: Path) -> dict:
    """The page's facts as Chromium shows them at a laptop's width, and its console errors."""
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request {request.url}"))
    try:
        page.goto(report.as_uri(), wait_until="load")
        return page.evaluate(PAGE_FACTS) | {"errors": errors}
    finally:
        page.close()


def test_the_report_is_downstream_of_the_marts_it_reads():
    graph = defs.resolve_asset_graph()
    assert graph.get(PROGRAMME_REPORT).parent_keys == set(REPORTED_MARTS)
    for mart in REPORTED_MARTS:
        assert graph.get(mart).is_materializable, mart
    assert PROGRAMME_REPORT in defs.resolve_job_def("daily_build").asset_layer.selected_asset_keys


def test_each_run_writes_the_report_a_reader_sees(demo_pipeline: Pipeline, browser):
    """The daily job wrote the report next to the warehouse; in Chromium it shows every
    trigger type of the marts with its verdict as the mart gives it, the plots, and 'not
    enough data' wherever the mart says so."""
    reports = demo_pipeline.warehouse.with_name("reports")
    latest = reports / "programme-report.html"
    assert (reports / f"programme-report-{END_DATE}.html").read_bytes() == latest.read_bytes()

    console = Console(record=True, width=240)
    settings = Settings(_env_file=None, FLYWHEEL_WAREHOUSE=demo_pipeline.warehouse)
    print_summary(settings, sent_since=datetime(2000, 1, 1), console=console)
    assert latest.resolve().as_uri() in console.export_text()  # the run's summary links it

    lifts = demo_pipeline.query(
        "select trigger_type, outcome, verdict from marts.fct_email_lift where locale = 'all'"
    )
    verdicts = {(trigger_type, outcome): verdict for trigger_type, outcome, verdict in lifts}
    trigger_types = {trigger_type for trigger_type, _ in verdicts} | {
        row[0] for row in demo_pipeline.query("select trigger_type from marts.fct_email_effect")
    }
    assert len(trigger_types) >= 5
    assert "not enough data" in verdicts.values()  # 60 accounts: few held out

    facts = read_page(browser, latest)
    assert facts["errors"] == []
    assert facts["title"] == TITLE
    assert facts["width"] <= 1000, "the page scrolls sideways"
    assert [section["trigger_type"] for section in facts["sections"]] == sorted(trigger_types)
    for section in facts["sections"]:
        trigger_type = section["trigger_type"]
        headline = verdicts.get((trigger_type, "active_days_28d"), "not enough data")
        assert section["heading"].startswith(trigger_title(trigger_type))
        assert section["verdict"] == headline
        if headline == "not enough data":
            assert section["sentence"].startswith("Not enough data yet to tell:")
        else:
            assert "95% confidence" in section["sentence"] or "No clear" in section["sentence"]
        shown = [row["verdict"] for row in section["lifts"]]
        assert shown == [
            verdicts[trigger_type, outcome]
            for outcome in (
                "active_days_28d",
                "active_days_7d",
                "retained_28d",
                "stage_progressed_28d",
                "account_seats_and_invites_28d",
                "cta_clicked_7d",
            )
            if (trigger_type, outcome) in verdicts
        ]
        for row in section["lifts"]:
            if row["verdict"] == "not enough data":
                assert row["lift"] == "not enough data"
        if section["lifts"]:
            plot = section["plot"]
            assert plot["width"] > 300 and plot["height"] > 100, trigger_type
            if "not enough data" in shown:
                assert "not enough data" in plot["text"]
    assert facts["stage_plot"]["width"] > 300 and facts["stage_plot"]["height"] > 100
    sends = dict(
        demo_pipeline.query(
            "select trigger_type, sum(sends) from marts.fct_email_effect group by trigger_type"
        )
    )
    overview = {row[0]: row for row in facts["overview"]}
    for trigger_type, sent in sends.items():
        assert overview[trigger_title(trigger_type)][1] == f"{sent:,}"


def test_the_asset_links_the_report_from_its_metadata(demo_pipeline: Pipeline, tmp_path):
    result = dg.materialize(
        [email_programme_report],
        partition_key=END_DATE.isoformat(),
        resources={
            "warehouse": Warehouse(path=str(demo_pipeline.warehouse)),
            "report_directory": ReportDirectory(path=str(tmp_path / "reports")),
        },
    )
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == PROGRAMME_REPORT
    metadata = event.materialization.metadata
    latest = tmp_path / "reports" / "programme-report.html"
    assert metadata["report"] == dg.MetadataValue.url(latest.as_uri())
    assert metadata["path"] == dg.MetadataValue.path(str(latest))
    assert metadata["report_of_the_day"] == dg.MetadataValue.path(
        str(tmp_path / "reports" / f"programme-report-{END_DATE}.html")
    )
    assert TITLE in latest.read_text(encoding="utf-8")
    trigger_types = metadata["trigger_types"].value
    assert trigger_types >= 5
    assert sum(metadata["verdicts"].data.values()) == trigger_types


# A warehouse holding one trigger type of each verdict, in the marts' shape: the page must
# say each in words, and show numbers only where there is enough data.
FIXTURE_MARTS = """
create schema marts;
create schema seeds;
create table seeds.engagement_rules as select 'min_effect_sample' as rule, 30 as value;
create table marts.fct_email_effect as
select * from (values
    ('inactive_nudge', 'en', date '2026-03-01', 400, 390, 120, 30, 4),
    ('level_up', 'en', date '2026-03-01', 300, 0, 0, 0, 0)
) as t(trigger_type, locale, period, sends, delivered, opens, clicks, unsubscribes);
create table marts.fct_email_lift as
select * from (values
    ('inactive_nudge', 'all', 'active_days_28d', 300, 40, 900, 100, 6.1, 5.2, 0.9, 0.4, 1.4,
        0.001, true, 'higher'),
    ('inactive_nudge', 'all', 'retained_28d', 300, 40, 900, 100, 0.52, 0.50, 0.02, -0.05,
        0.09, 0.6, true, 'no clear difference'),
    ('inactive_nudge', 'fr', 'active_days_28d', 50, 6, 120, 10, 6.0, 5.0, null, null, null,
        null, false, 'not enough data'),
    ('level_up', 'all', 'active_days_28d', 250, 35, 600, 70, 9.0, 10.1, -1.1, -1.9, -0.3,
        0.01, true, 'lower'),
    ('streak_milestone', 'all', 'active_days_28d', 100, 8, 200, 12, 12.0, 11.0, null, null,
        null, null, false, 'not enough data')
) as t(trigger_type, locale, outcome, treated_units, holdout_units, treated_count,
    holdout_count, treated_mean, holdout_mean, lift, lift_ci_low, lift_ci_high, lift_p_value,
    has_enough_data, verdict);
create table marts.fct_engagement_stages as
select 'user' as entity_type, 'u' || (i % 20) as entity_id,
    date '2026-01-01' + cast(i // 20 as integer) as as_of_date,
    ['implement', 'reinforce', 'optimize', 'expand'][1 + (i % 4)] as stage,
    ['implement', 'reinforce', 'optimize', 'expand'][1 + ((i + i // 140) % 4)]
        as previous_stage,
    i % 7 = 0 as is_stage_change
from range(20 * 120) as t(i);
"""


def test_every_verdict_in_words(tmp_path, browser):
    warehouse = tmp_path / "fixture.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(FIXTURE_MARTS)
    with Warehouse(path=str(warehouse)).connect(read_only=True) as con:
        data = read_programme_data(con)
    assert len(data.stage_weeks) == 12
    report = tmp_path / "report.html"
    report.write_text(render_programme_report(data, date(2026, 4, 30)), encoding="utf-8")

    facts = read_page(browser, report)
    assert facts["errors"] == []
    sections = {section["trigger_type"]: section for section in facts["sections"]}
    assert list(sections) == ["inactive_nudge", "level_up", "streak_milestone"]

    nudge = sections["inactive_nudge"]
    assert nudge["verdict"] == "higher"
    assert nudge["sentence"] == (
        "The e-mails work: users were active 0.9 more days in the 28 days after a trigger "
        "than comparable users who got no e-mail (with 95% confidence, between 0.4 and 1.4 "
        "more)."
    )
    assert [row["lift"] for row in nudge["lifts"]] == [
        "+0.9 days (+0.4 to +1.4)",
        "+2.0 percentage points (-5.0 to +9.0)",
    ]
    # the French row has too few held-out accounts: said in the plot, no point drawn for it
    assert "not enough data" in nudge["plot"]["text"]

    level_up = sections["level_up"]
    assert level_up["verdict"] == "lower"
    assert level_up["sentence"].startswith("Users were less active after these e-mails: 1.1 fewer")
    assert "between 0.3 and 1.9 fewer" in level_up["sentence"]

    streak = sections["streak_milestone"]
    assert streak["verdict"] == "not enough data"
    assert streak["sentence"].startswith(
        "Not enough data yet to tell: 100 accounts got these e-mails and 8 accounts were held "
        "out, and "
        "a verdict needs at least 30 in each group."
    )
    assert [row["lift"] for row in streak["lifts"]] == ["not enough data"]

    overview = {row[0]: row[1:] for row in facts["overview"]}
    assert overview["Inactive nudge"] == ["400", "97.5%", "30.8%", "7.7%", "higher"]
    assert overview["Level up"] == ["300", "–", "–", "–", "lower"]
    assert overview["Streak milestone"] == ["0", "–", "–", "–", "not enough data"]


def test_flywheel_report_prints_or_opens_the_latest(tmp_path, monkeypatch):
    report_dir = tmp_path / "reports"
    monkeypatch.setenv("FLYWHEEL_REPORT_DIR", str(report_dir))
    missing = CliRunner().invoke(main, ["report", "--print-path"])
    assert missing.exit_code == 1
    assert "No programme report at" in missing.output

    latest, _ = ReportDirectory(path=str(report_dir)).write("<html></html>", date(2026, 3, 31))
    printed = CliRunner().invoke(main, ["report", "--print-path"])
    assert printed.exit_code == 0, printed.output
    assert printed.output.strip() == str(latest)

    # the only browser: one that writes down the address it was asked to open
    opened = tmp_path / "opened.txt"
    record = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"
    browser = webbrowser.GenericBrowser([sys.executable, "-c", record, str(opened), "%s"])
    monkeypatch.setattr(webbrowser, "_browsers", {"recorder": [None, browser]})
    monkeypatch.setattr(webbrowser, "_tryorder", ["recorder"])
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 0, result.output
    assert opened.read_text() == latest.as_uri()
    assert result.output.strip() == f"Opened {latest}"
