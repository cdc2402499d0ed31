"""Thresholds of the data-quality suites.

Rules the dbt project already owns are read from it, so a rule has one home: the e-mail caps
from its `engagement_rules` seed. Thresholds that only the checks use are named here.
"""

import csv
from functools import cache

import yaml

from orchestration.settings import REPO_ROOT

ENGAGEMENT_RULES_FILE = REPO_ROOT / "dbt_project" / "seeds" / "engagement_rules.csv"
DBT_PROJECT_FILE = REPO_ROOT / "dbt_project" / "dbt_project.yml"

# --- Event volume (staging.stg_product__events, blocking) ---
# A day on which one account has more than this many times its usual daily events (the median
# of the trailing window) is a spike: a replayed export, a bot, a loader bug. Sends wait until
# an operator has looked.
VOLUME_SPIKE_RATIO = 10.0
# The trailing window (days before the day judged) the usual daily count is the median of.
VOLUME_TRAILING_DAYS = 28
# Days judged: the run's as-of day and the days before it that late files can still change.
VOLUME_RECENT_DAYS = 3
# The usual count is raised to at least this many events a day, so a small account going from
# 2 to 30 events is not a spike (it takes more than 10 x 20 = 200 events).
VOLUME_MIN_BASELINE_EVENTS = 20
# An account with fewer days of history in the trailing window than this is not judged yet.
VOLUME_MIN_HISTORY_DAYS = 7

# --- Source freshness (raw.events) ---
# How far the newest event may lie before the end of the run's day. Past the first, the check
# warns (a quiet day, or a late export); past the second it blocks the send: the e-mails
# would call active users inactive.
FRESHNESS_WARN_AFTER_HOURS = 12
FRESHNESS_ERROR_AFTER_HOURS = 48

# At most this many offending rows are quoted in a check's message (the count says the rest).
MAX_EXAMPLES = 5


@cache
def engagement_rules() -> dict[str, float]:
    """The seed `engagement_rules`: the thresholds every dbt run builds with."""
    with ENGAGEMENT_RULES_FILE.open(encoding="utf-8", newline="") as rules:
        return {row["rule"]: float(row["value"]) for row in csv.DictReader(rules)}


@cache
def project_vars() -> dict:
    """The dbt project's vars as dbt_project.yml sets them (holdout_unit, holdout_salt, ...)."""
    return yaml.safe_load(DBT_PROJECT_FILE.read_text(encoding="utf-8"))["vars"]


def daily_email_cap() -> int:
    return int(engagement_rules()["daily_email_cap"])


def weekly_email_cap() -> int:
    return int(engagement_rules()["weekly_email_cap"])
