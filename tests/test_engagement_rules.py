"""What the engagement rules tell people, on the demo data: varied advice, stable stages,
every step celebrated, and comparisons only where they are fair and discreet."""

import duckdb
import pytest

from orchestration.engagement_report import EngagementReport, measure_engagement


@pytest.fixture(scope="module")
def report(demo_pipeline) -> EngagementReport:
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        return measure_engagement(con)


def test_no_recommendation_leads_more_than_40_pct_of_the_emails_that_show_one(report):
    assert len(report.first_recommendations) >= 3
    assert max(pct for _, _, pct in report.first_recommendations) <= 40


def test_at_most_5_pct_of_stage_changes_are_undone_within_7_days(report):
    assert report.stage_changes > 100
    assert report.reversed_pct <= 5


def test_every_ladder_celebrates_its_first_and_top_level(report):
    assert len(report.ladder_end_level_ups) == 8
    assert [row for row in report.ladder_end_level_ups if row[3] == 0] == []


def test_no_team_comparison_with_fewer_than_min_team_size_teammates(report):
    assert report.small_team_comparisons == 0


def test_every_band_has_a_published_benchmark(report):
    assert len(report.bands_published) == 5
    assert all(report.bands_published.values())
