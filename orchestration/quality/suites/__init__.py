"""The expectation suites: one function per suite, which reads what it validates from the
warehouse (an open DuckDB or PostgreSQL connection) and returns those rows with its suite
(validation.py: a frame on DuckDB, the query itself on PostgreSQL).

Large tables are validated through small aggregates computed in the warehouse (events per
account and day, payloads per user), never row by row in pandas. Each expectation carries a
description (what must hold) and an `offending_row` template (how to name a row that breaks
it), which checks.py turns into the check's message.
"""

from orchestration.quality.suites.events import events_freshness_suites, events_volume_suite
from orchestration.quality.suites.payloads import (
    payload_caps_suite,
    payload_holdout_suite,
    payload_recipients_suite,
)
from orchestration.quality.suites.users import user_time_zones_suite

__all__ = [
    "events_freshness_suites",
    "events_volume_suite",
    "payload_caps_suite",
    "payload_holdout_suite",
    "payload_recipients_suite",
    "user_time_zones_suite",
]
