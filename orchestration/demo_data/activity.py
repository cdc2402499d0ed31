"""Simulate what the users do, day by day in their own time zone, and render it as text.

The simulation is vectorised with numpy: an activity matrix (user x local day), one "cell"
per active day with a session start and a working span, Poisson counts per event type and
cell, then one row per event. Only the rare, scripted events (onboarding steps, integrations,
features, invitations) come from a Python loop over users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

import numpy as np
import pyarrow as pa

from orchestration.demo_data.population import (
    CASUAL,
    HABITUAL,
    NOT_CREATED,
    ONBOARDING_STEPS,
    RETURNER,
    Calendar,
    Population,
    Users,
    zone_info,
)
from orchestration.ingestion.contract import event_types

# An event's code is its position in the vocabulary (seed event_types). The simulation names
# each type it produces (EVENT_CODE["task_completed"]): a type renamed in the seed fails
# here, and tests/test_generator.py checks that every type of the seed is produced.
EVENT_NAMES = tuple(event_types())
EVENT_CODE = {name: code for code, name in enumerate(EVENT_NAMES)}

# Events per active day before scaling to the target, by profile (the personas, then
# newcomers who are onboarding or stalled). The last column is sessions beyond the first.
VOLUME_EVENTS = np.array(
    [
        EVENT_CODE["task_completed"],
        EVENT_CODE["report_generated"],
        EVENT_CODE["workflow_completed"],
        EVENT_CODE["automation_run"],
        EVENT_CODE["bulk_action_used"],
        EVENT_CODE["schedule_created"],
        EVENT_CODE["session_started"],
    ]
)
PROFILE_RATES = np.array(
    [
        # task, report, workflow, automation, bulk, schedule, extra sessions
        [2.0, 0.3, 0.3, 0.0, 0.02, 0.005, 0.2],  # casual
        [5.0, 1.0, 1.2, 0.3, 0.1, 0.02, 0.5],  # habitual
        [18.0, 5.0, 5.0, 2.5, 1.0, 0.12, 1.0],  # power
        [4.0, 0.8, 0.8, 0.2, 0.05, 0.01, 0.4],  # returner
        [1.0, 0.2, 0.1, 0.0, 0.0, 0.0, 0.2],  # onboarding
    ]
)
ONBOARDING = len(PROFILE_RATES) - 1
AUTOMATION_COLUMN = VOLUME_EVENTS.tolist().index(EVENT_CODE["automation_run"])
BULK_SHARE = np.array([0.05, 0.15, 0.45, 0.1, 0.0])  # of workflows, by profile
AUTOMATED_SHARE = np.array([0.02, 0.15, 0.5, 0.1, 0.0])
# Chance of being active on a weekday / a weekend day, by persona.
ACTIVE_SHARE = np.array([[0.5, 0.05], [0.95, 0.08], [0.97, 0.5], [0.8, 0.15]])
WEEKEND_WORKER_ACTIVE = np.array([0.5, 0.98, 0.95, 0.6])  # both kinds of day
ONBOARDING_ACTIVE, STALLED_ACTIVE = 0.5, 0.12
FEATURE_COUNTS = ((0, 1), (0, 2), (2, 4), (0, 1))  # features a persona enables, min and max
OTHER_INTEGRATION_SHARE = 0.25

INTEGRATIONS = ("crm", "slack", "calendar", "email", "zapier")
FEATURES = (
    "bulk_actions",
    "automations",
    "scheduled_reports",
    "dashboards",
    "ai_assistant",
    "api_access",
)
NO_PROPERTIES_SHARE = (0.7, 0.2, 0.1)  # null, empty string, "{}": all mean "none"
MINUTES_SAVED = np.arange(1, 481) / 2  # 0.5 to 240 minutes in half-minute steps


_PROPERTY_GROUPS: dict[str, list[str | None]] = {
    "none": [None, "", "{}"],
    "step": [json.dumps({"step": step}) for step in range(1, ONBOARDING_STEPS + 1)],
    "integration": [json.dumps({"integration": name}) for name in INTEGRATIONS],
    "feature": [json.dumps({"feature": name}) for name in FEATURES],
    "workflow": [
        json.dumps({"bulk": bulk, "automated": automated})
        for bulk in (False, True)
        for automated in (False, True)
    ],
    "minutes": [json.dumps({"minutes_saved": m if m % 1 else int(m)}) for m in MINUTES_SAVED],
}
PROPERTIES = [text for group in _PROPERTY_GROUPS.values() for text in group]
_FIRST = dict(
    zip(_PROPERTY_GROUPS, np.cumsum([0, *map(len, _PROPERTY_GROUPS.values())]), strict=False)
)

# How timestamps are written: "...Z", with the user's offset, or naive (meaning UTC).
Z, OFFSET, NAIVE = range(3)
TIMESTAMP_STYLE_SHARES = (0.8, 0.12, 0.08)
MAX_OFFSET, OFFSET_STEP = 14 * 3600, 900  # every UTC offset in use is a quarter-hour


@dataclass(frozen=True)
class Events:
    """One entry per event, sorted by time."""

    user: np.ndarray
    name: np.ndarray  # index into EVENT_NAMES
    utc: np.ndarray  # epoch seconds
    offset: np.ndarray  # the user's UTC offset that day, in seconds
    properties: np.ndarray  # index into PROPERTIES

    def __len__(self) -> int:
        return len(self.utc)


@dataclass(frozen=True)
class Cells:
    """The active (user, local day) pairs and when each working day starts and lasts."""

    user: np.ndarray
    day: np.ndarray
    profile: np.ndarray
    start: np.ndarray  # local seconds after midnight of the first session
    span: np.ndarray  # seconds of activity after it
    offset: np.ndarray
    in_window: np.ndarray  # the first session falls in the window (UTC)

    def __len__(self) -> int:
        return len(self.user)


@dataclass(frozen=True)
class Scripted:
    """Rare events with a fixed day: onboarding, integrations, features, invitations."""

    user: np.ndarray
    day: np.ndarray
    name: np.ndarray
    properties: np.ndarray


@dataclass(frozen=True)
class Activity:
    """Who is active on which local day (user x day), and the scripted events of those days."""

    active: np.ndarray  # bool; the e-mail programme (programme.py) may add days in place
    scripted: Scripted
    step_days: dict[int, list[int]]


def simulate_activity(population: Population, rng: np.random.Generator) -> Activity:
    users, calendar = population.users, population.calendar
    step_days = _onboarding_days(users, len(calendar.days), rng)
    p = _activity_chances(users, calendar, step_days, rng)
    scripted = _scripted_events(users, step_days, p, rng)
    active = rng.random(p.shape) < p
    active[scripted.user, scripted.day] = True
    return Activity(active, scripted, step_days)


def simulate_events(
    population: Population, activity: Activity, target_events: int, rng: np.random.Generator
) -> Events:
    """About `target_events` events on the active days, sorted by time, all inside the window
    (UTC days)."""
    users, calendar = population.users, population.calendar
    active, scripted = activity.active, activity.scripted
    cells = _cells(active, users, calendar, activity.step_days, rng)
    rates = _cell_rates(cells, users, rng)
    cell_of = np.full(active.shape, -1)
    cell_of[cells.user, cells.day] = np.arange(len(cells))
    scripted_cells = cell_of[scripted.user, scripted.day]
    fixed = cells.in_window.sum() + cells.in_window[scripted_cells].sum()
    scale = max(0.02, (target_events - fixed) / rates[cells.in_window].sum())
    counts = rng.poisson(rates * scale)
    return _events(cells, counts, scripted, scripted_cells, users, calendar, rng)


def _onboarding_days(users: Users, n_days: int, rng: np.random.Generator) -> dict[int, list[int]]:
    """Day of each onboarding step a newcomer completes: one every day or few days."""
    days: dict[int, list[int]] = {}
    for u in np.flatnonzero(users.onboarding_steps):
        gaps = rng.geometric(0.5, users.onboarding_steps[u] - 1)
        steps = users.created_day[u] + np.concatenate([[0], np.cumsum(gaps)])
        days[int(u)] = [int(day) for day in steps if day < n_days]
    return days


def _activity_chances(
    users: Users, calendar: Calendar, step_days: dict[int, list[int]], rng: np.random.Generator
) -> np.ndarray:
    """The chance that each user is active on each local day (user x day)."""
    persona, n_days = users.persona, len(calendar.days)
    weekday = ACTIVE_SHARE[persona, 0]
    weekend = np.where(
        users.weekend_worker, WEEKEND_WORKER_ACTIVE[persona], ACTIVE_SHARE[persona, 1]
    )
    weekday = np.where(users.weekend_worker, WEEKEND_WORKER_ACTIVE[persona], weekday)
    p = np.where(calendar.weekend, weekend[:, None], weekday[:, None])
    for u in np.flatnonzero(persona == RETURNER):
        _quiet_spells(p[u], max(0, users.created_day[u]), rng)
    for u in np.flatnonzero((persona == HABITUAL) & ~users.weekend_worker):
        if rng.random() < 0.4:  # a week or so of holidays
            length = int(rng.integers(5, 10))
            start = int(rng.integers(0, max(1, n_days - length)))
            p[u, start : start + length] = 0
    for u in np.flatnonzero(persona == CASUAL):
        if rng.random() < 0.1:  # churns for good
            p[u, int(rng.integers(n_days // 2, n_days)) :] = 0
    for u, days in step_days.items():
        p[u, : users.created_day[u]] = 0
        p[u, users.created_day[u] : days[-1] + 1] = ONBOARDING_ACTIVE
        if users.onboarding_steps[u] < ONBOARDING_STEPS:
            p[u, days[-1] + 1 :] = np.minimum(p[u, days[-1] + 1 :], STALLED_ACTIVE)
    return p


def _quiet_spells(p: np.ndarray, created: int, rng: np.random.Generator) -> None:
    """One or two spells of 2-5 weeks without activity, each followed by a comeback."""
    n_days = len(p)
    earliest = created + 7
    for _ in range(1 + int(rng.random() < 0.35)):
        length = min(int(rng.integers(14, 36)), max(12, n_days - earliest - 8))
        latest = n_days - length - 7
        if latest <= earliest:
            return
        start = int(rng.integers(earliest, latest))
        p[start : start + length] = 0
        earliest = start + length + 10


def _scripted_events(
    users: Users, step_days: dict[int, list[int]], p: np.ndarray, rng: np.random.Generator
) -> Scripted:
    rows: list[tuple[int, int, int, int]] = []  # user, day, event, properties
    for u, days in step_days.items():
        for step, day in enumerate(days, start=1):
            rows.append(
                (u, day, EVENT_CODE["onboarding_step_completed"], _FIRST["step"] + step - 1)
            )
        if users.connects_crm[u] and len(days) >= 3:
            rows.append((u, days[2], EVENT_CODE["integration_connected"], _FIRST["integration"]))
        rows.extend(_invitation(users, u, rng))
    for u in range(len(users)):
        likely_days = np.flatnonzero(p[u] > 0.3)
        if len(likely_days):
            rows.extend(_adoption(users, u, likely_days, rng))
    user, day, name, properties = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return Scripted(user, day, name, properties)


def _invitation(users: Users, u: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """The admin invites the newcomer a few days before they sign up, and often adds a seat."""
    inviter = int(users.inviter[u])
    if inviter < 0:
        return []
    earliest = max(0, int(users.created_day[inviter]))
    joined = int(users.created_day[u])
    rows = [
        (inviter, max(earliest, joined - int(rng.integers(0, 4))), EVENT_CODE["invite_sent"], 0)
    ]
    if rng.random() < 0.7:
        rows.append((inviter, max(earliest, joined), EVENT_CODE["seat_added"], 0))
    return rows


def _adoption(
    users: Users, u: int, likely_days: np.ndarray, rng: np.random.Generator
) -> list[tuple[int, int, int, int]]:
    """Features enabled and (for users who were there already) integrations connected."""
    low, high = FEATURE_COUNTS[users.persona[u]]
    features = rng.choice(len(FEATURES), int(rng.integers(low, high + 1)), replace=False)
    rows = [
        (u, int(rng.choice(likely_days)), EVENT_CODE["feature_enabled"], _FIRST["feature"] + f)
        for f in features
    ]
    if users.created_day[u] == NOT_CREATED and rng.random() < OTHER_INTEGRATION_SHARE:
        integration = _FIRST["integration"] + int(rng.integers(0, len(INTEGRATIONS)))
        rows.append(
            (u, int(rng.choice(likely_days)), EVENT_CODE["integration_connected"], integration)
        )
    return rows


def _cells(
    active: np.ndarray,
    users: Users,
    calendar: Calendar,
    step_days: dict[int, list[int]],
    rng: np.random.Generator,
) -> Cells:
    user, day = np.nonzero(active)
    n = len(user)
    onboarding_until = np.full(len(users), -1)
    for u, days in step_days.items():
        stalled = users.onboarding_steps[u] < ONBOARDING_STEPS
        onboarding_until[u] = len(calendar.days) if stalled else days[-1]
    profile = np.where(day <= onboarding_until[user], ONBOARDING, users.persona[user])
    habit = rng.uniform(0, 1.5 * 3600, len(users))  # early birds and late starters
    weekend_delay = np.where(calendar.weekend[day], 3600, 0)
    start = (7.5 * 3600 + rng.uniform(0, 2.5 * 3600, n) + habit[user] + weekend_delay).astype(int)
    short = (profile == CASUAL) | (profile == ONBOARDING)
    span = np.where(short, rng.uniform(0.5, 3, n), rng.uniform(3, 9, n)) * 3600
    offset = _zone_offsets(users, calendar)[user, day]
    session_utc = calendar.midnights[day] + start - offset
    return Cells(user, day, profile, start, span, offset, calendar.in_window(session_utc))


def _zone_offsets(users: Users, calendar: Calendar) -> np.ndarray:
    """Each user's UTC offset (seconds) at local noon of each day: DST switches at night."""
    zones = sorted(set(users.timezone), key=str)
    noons = [datetime.combine(day, time(12)) for day in calendar.days]
    table = np.array(
        [[zone_info(zone).utcoffset(noon).total_seconds() for noon in noons] for zone in zones],
        dtype=np.int64,
    )
    index = {zone: i for i, zone in enumerate(zones)}
    return table[[index[zone] for zone in users.timezone]]


def _cell_rates(cells: Cells, users: Users, rng: np.random.Generator) -> np.ndarray:
    """Expected count of each volume event per cell, before scaling to the target."""
    appetite = rng.lognormal(0, 0.6, len(users))  # some users simply do more
    rates = PROFILE_RATES[cells.profile] * appetite[cells.user, None]
    rates[:, AUTOMATION_COLUMN] *= users.uses_automation[cells.user]
    return rates * rng.gamma(4, 1 / 4, len(cells))[:, None]  # busy and quiet days


def _events(
    cells: Cells,
    counts: np.ndarray,
    scripted: Scripted,
    scripted_cells: np.ndarray,
    users: Users,
    calendar: Calendar,
    rng: np.random.Generator,
) -> Events:
    n_cells = len(cells)
    volume_cell = np.repeat(np.arange(n_cells), counts.sum(axis=1))
    volume_name = np.repeat(np.tile(VOLUME_EVENTS, n_cells), counts.ravel())
    cell = np.concatenate([np.arange(n_cells), volume_cell, scripted_cells])
    name = np.concatenate(
        [np.full(n_cells, EVENT_CODE["session_started"]), volume_name, scripted.name]
    )
    later = 1 + (rng.random(len(cell) - n_cells) * cells.span[cell[n_cells:]]).astype(int)
    local = cells.start[cell] + np.concatenate([np.zeros(n_cells, dtype=int), later])
    utc = calendar.midnights[cells.day[cell]] + local - cells.offset[cell]
    properties = _properties(
        name, cells.profile[cell], users.uses_automation[cells.user[cell]], rng
    )
    properties[len(cell) - len(scripted.name) :] = scripted.properties
    keep = cells.in_window[cell] & calendar.in_window(utc)
    order = np.argsort(utc[keep], kind="stable")
    kept = np.flatnonzero(keep)[order]
    return Events(
        user=cells.user[cell[kept]],
        name=name[kept],
        utc=utc[kept],
        offset=cells.offset[cell[kept]],
        properties=properties[kept],
    )


def _properties(
    name: np.ndarray, profile: np.ndarray, uses_automation: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    codes = rng.choice(len(NO_PROPERTIES_SHARE), len(name), p=NO_PROPERTIES_SHARE)
    workflow = name == EVENT_CODE["workflow_completed"]
    bulk = rng.random(workflow.sum()) < BULK_SHARE[profile[workflow]]
    automated = rng.random(workflow.sum()) < AUTOMATED_SHARE[profile[workflow]]
    automated &= uses_automation[workflow]
    codes[workflow] = _FIRST["workflow"] + 2 * bulk + automated
    runs = name == EVENT_CODE["automation_run"]
    minutes = np.clip(np.round(rng.lognormal(np.log(12), 0.7, runs.sum()) * 2), 1, 480)
    codes[runs] = _FIRST["minutes"] + minutes.astype(int) - 1
    return codes


# ---------------------------------------------------------------------------------------
# Rendering: numbers to the text columns of the raw contract, without Python loops.


def events_table(
    events: Events, users: Users, account_ids: list[str], rng: np.random.Generator
) -> pa.Table:
    """The events as the text columns of the raw contract, ids numbered in time order."""
    user_ids = pa.array(users.user_id, pa.large_string())
    user_accounts = pa.array(account_ids, pa.large_string()).take(users.account)
    style = rng.choice(len(TIMESTAMP_STYLE_SHARES), len(events), p=TIMESTAMP_STYLE_SHARES)
    return pa.table(
        {
            "event_id": numbered_ids("evt_", np.arange(1, len(events) + 1), 10),
            "user_id": user_ids.take(events.user),
            "account_id": user_accounts.take(events.user),
            "event_name": pa.array(EVENT_NAMES, pa.large_string()).take(events.name),
            "occurred_at": iso_timestamps(events.utc, events.offset, style),
            "properties": pa.array(PROPERTIES, pa.large_string()).take(events.properties),
        }
    )


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """e.g. evt_0000000042, without formatting millions of Python strings."""
    chars = np.empty((len(numbers), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    _put_digits(chars, len(prefix), numbers, width)
    return _strings(chars, np.full(len(numbers), chars.shape[1]))


def iso_timestamps(utc: np.ndarray, offset: np.ndarray, style: np.ndarray) -> pa.Array:
    """ISO-8601 text: `2026-03-01T10:15:00Z`, `2026-03-01T13:15:00+03:00` (local time with
    the user's offset) or `2026-03-01 10:15:00` (naive, meaning UTC).

    Built by looking up the text of each day, second of the day and offset in small tables,
    which is some 20 times faster than formatting each value.
    """
    shown = utc + np.where(style == OFFSET, offset, 0)
    day, second = np.divmod(shown, 86_400)
    first = int(day.min(initial=0))
    days = np.arange(first, int(day.max(initial=0)) + 1).astype("datetime64[D]")
    day_text = _text_table(np.datetime_as_string(days).tolist(), 10)

    chars = np.empty((len(utc), 25), dtype=np.uint8)
    chars[:, :10] = day_text[day - first]
    chars[:, 10] = np.where(style == NAIVE, ord(" "), ord("T"))
    chars[:, 11:19] = _clock_table()[second]
    chars[:, 19:] = _offset_table()[(offset + MAX_OFFSET) // OFFSET_STEP]
    chars[style == Z, 19] = ord("Z")
    return _strings(chars, 19 + np.select([style == Z, style == OFFSET], [1, 6], 0))


@cache
def _offset_table() -> np.ndarray:
    """`+hh:mm` for every quarter-hour offset from -14:00 to +14:00."""
    texts = []
    for seconds in range(-MAX_OFFSET, MAX_OFFSET + 1, OFFSET_STEP):
        hours, minutes = divmod(abs(seconds) // 60, 60)
        texts.append(f"{'-' if seconds < 0 else '+'}{hours:02d}:{minutes:02d}")
    return _text_table(texts, 6)


def _text_table(texts: list[str], width: int) -> np.ndarray:
    return np.frombuffer("".join(texts).encode(), dtype=np.uint8).reshape(len(texts), width)


@cache
def _clock_table() -> np.ndarray:
    """`hh:mm:ss` for every second of a day."""
    second = np.arange(86_400)
    chars = np.full((86_400, 8), ord(":"), dtype=np.uint8)
    for column, values in ((0, second // 3600), (3, second // 60 % 60), (6, second % 60)):
        _put_digits(chars, column, values, 2)
    return chars


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(100, 2)


def _put_digits(chars: np.ndarray, column: int, values: np.ndarray, width: int) -> None:
    """Write zero-padded decimal digits into chars[:, column : column + width], two at a time."""
    values = np.asarray(values, dtype=np.int64)
    end = column + width
    while end > column:
        pair = _PAIRS[values % 100]
        start = max(column, end - 2)
        chars[:, start:end] = pair[:, 2 - (end - start) :]
        values = values // 100
        end = start


def _strings(chars: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A string array from a character matrix, row i being its first lengths[i] bytes."""
    if (lengths == chars.shape[1]).all():
        data = chars.ravel()
    else:
        data = chars[np.arange(chars.shape[1]) < lengths[:, None]]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))
