"""Data quality: Great Expectations suites run as Dagster asset checks on the dbt models.

One framework per check: dbt tests each model's row-level contracts (keys, nulls, accepted
values, relationships, ranges) as it builds it, and these suites check what a dbt test can't
express: the volume and freshness of the events, comparisons across days, values only Python
knows (zoneinfo's time zones), and the payloads once more before every send, since a weekly
report run can send from payloads an earlier run built.
"""

from orchestration.quality.checks import (
    INBOX_GUARDED_ASSETS,
    quality_checks,
    source_freshness_checks,
)

__all__ = ["INBOX_GUARDED_ASSETS", "quality_checks", "source_freshness_checks"]
