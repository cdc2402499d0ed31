"""Data quality: Great Expectations suites run as Dagster asset checks on the dbt models."""

from orchestration.quality.checks import (
    INBOX_GUARDED_ASSETS,
    quality_checks,
    source_freshness_checks,
)

__all__ = ["INBOX_GUARDED_ASSETS", "quality_checks", "source_freshness_checks"]
