"""The demo's e-mail programme: months of sends as a Flywheel running every day would have made
them, with an effect planted for the lift to find.

With `generate(..., email_history=True)` the demo plays a Flywheel that ran every day of the
window, for two trigger types the simulation can tell from activity alone:
- an inactivity nudge (inactive_nudge) on the day a user's inactivity reaches the rule
  `inactive_nudge_days`, keyed by the last active day as dbt keys it, sent the next morning;
- a weekly report (weekly_report) every Monday morning to every user active in the ISO week
  before, keyed by that week;
and neither to the holdout: the accounts (or users, var `holdout_unit`) that dim_users holds
out, by the same salted hash (macros/cross_db/hash_bucket.sql). The history stops a week
before the window's end: that week is the demo run's own to send (it catches up a week of
triggers, FLYWHEEL_SEND_GRACE_DAYS), so its outbox holds every kind of e-mail.

The planted effect: on each of the 7 days after a nudge is sent, a nudged user who has not come
back yet comes back with probability `nudge_effect`, following the e-mail's button. The
holdout's nudges never went, and nothing is planted for the weekly report: fct_email_lift finds
a lift in active days after the nudge and none after the report (tests/test_demo.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from orchestration.demo_data.activity import Activity
from orchestration.demo_data.population import Population, utc_offset
from orchestration.quality.thresholds import engagement_rules, project_vars

NUDGE, WEEKLY_REPORT = "inactive_nudge", "weekly_report"
RETURN_DAYS = 7  # the days after a nudge on which the planted effect brings users back
SEND_HOUR = 9  # sends go out in the reader's morning, local time
FIRST_DAY = 1  # the calendar's index of the window's first day
LEFT_TO_THE_RUN = 7  # the window's last days, whose e-mails the history does not send
CLICK_DELAY = 1800  # seconds from the morning's e-mail (or the morning) to a planted click


@dataclass(frozen=True)
class Send:
    """An e-mail the programme sent, and when its reader followed its button (if planted)."""

    user: int
    trigger_type: str
    period_key: str
    utc: int
    clicked_utc: int | None = None


def hash_bucket(value: str, buckets: int, salt: str) -> int:
    """As dbt's `hash_bucket`: the first 8 hex digits of md5('<salt>:<value>'), modulo."""
    digest = hashlib.md5(f"{salt}:{value}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % buckets


def held_out(population: Population) -> np.ndarray:
    """Whether each user is in the holdout, as dim_users.is_holdout decides it."""
    users = population.users
    if project_vars()["holdout_unit"] == "user":
        unit_ids = list(users.user_id)
    else:
        unit_ids = [population.accounts.account_id[a] for a in users.account]
    pct = engagement_rules()["holdout_pct"]
    salt = project_vars()["holdout_salt"]
    return np.array([hash_bucket(unit, 100, salt) < pct for unit in unit_ids], dtype=bool)


def simulate_sends(
    activity: Activity,
    population: Population,
    nudge_effect: float,
    rng: np.random.Generator,
) -> list[Send]:
    """Every nudge and weekly report sent, in time order. Plants the nudge's effect in
    `activity.active` (the days users came back), so call it before the events are drawn."""
    holdout = held_out(population)
    sends = _nudges(activity.active, population, holdout, nudge_effect, rng)
    sends += _weekly_reports(activity.active, population, holdout, rng)
    return sorted(sends, key=lambda send: (send.utc, send.user))


def _history_end(days: list) -> int:
    """The calendar index of the first day the history sends nothing on."""
    last_window_day = len(days) - 2  # the calendar's last day is the one after the window
    return last_window_day + 1 - LEFT_TO_THE_RUN


def _morning(population: Population, user: int, day: int, rng: np.random.Generator) -> int:
    """A moment of the user's local morning on `day` (an index of the calendar), in UTC."""
    zone = population.users.timezone[user]
    local = population.calendar.midnights[day] + SEND_HOUR * 3600 + int(rng.integers(0, 3600))
    return int(local - utc_offset(zone, int(local)))


def _nudges(
    active: np.ndarray,
    population: Population,
    holdout: np.ndarray,
    effect: float,
    rng: np.random.Generator,
) -> list[Send]:
    """One nudge per inactivity episode: on day D, inactive_nudge_days after the last active
    day, sent on D + 1. The planted returns are written into `active`."""
    threshold = int(engagement_rules()["inactive_nudge_days"])
    days = population.calendar.days
    sends = []
    for user in range(len(active)):
        # from the window's first day (the calendar has a day more on each side) on
        active_days = np.flatnonzero(active[user, FIRST_DAY:]) + FIRST_DAY
        if not len(active_days):
            continue
        last = int(active_days[0])
        day = last + 1
        while day + 1 < _history_end(days):  # its nudge goes out the next day
            if active[user, day]:
                last = day
            elif day - last == threshold and not holdout[user]:
                sent = _morning(population, user, day + 1, rng)
                back = _planted_return(active[user], day + 1, effect, rng)
                clicked = None
                if back is not None:  # the click that brought them back, after the e-mail
                    clicked = max(sent, _morning(population, user, back, rng)) + CLICK_DELAY
                sends.append(Send(user, NUDGE, str(days[last]), sent, clicked))
            day += 1
    return sends


def _planted_return(
    active: np.ndarray, first: int, effect: float, rng: np.random.Generator
) -> int | None:
    """The day in [first, first + RETURN_DAYS) the e-mail brings the user back, if it does
    before they come back on their own; that day becomes active."""
    for day in range(first, min(first + RETURN_DAYS, len(active))):
        if active[day]:
            return None
        if rng.random() < effect:
            active[day] = True
            return day
    return None


def _weekly_reports(
    active: np.ndarray, population: Population, holdout: np.ndarray, rng: np.random.Generator
) -> list[Send]:
    """Each Monday, a report on the ISO week before to every user active in it."""
    days = population.calendar.days
    sends = []
    for monday in (d for d in range(FIRST_DAY + 7, _history_end(days)) if days[d].weekday() == 0):
        year, week, _ = (days[monday] - timedelta(days=1)).isocalendar()
        readers = np.flatnonzero(active[:, monday - 7 : monday].any(axis=1) & ~holdout)
        sends += [
            Send(int(u), WEEKLY_REPORT, f"{year}-W{week:02d}", _morning(population, u, monday, rng))
            for u in readers
        ]
    return sends
