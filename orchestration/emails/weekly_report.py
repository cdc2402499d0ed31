"""When a weekly report goes out: the Monday after the reported week, at a local hour, from a
build that holds the user's whole local week.

The report is dated the Sunday that ends its ISO week (user-local days). It is delivered at
`FLYWHEEL_WEEKLY_REPORT_HOUR` on the next Monday in the user's own time zone, daylight-saving
time included, or as soon as possible after that when no build held the week yet. It is never
sent before the week has ended locally, nor later than the grace days allow.

The local week ends at Monday 00:00 local time. East of UTC (and at UTC) that is on or before
the end of the UTC Sunday, so the daily build of that Sunday holds the week. West of UTC it is
on the UTC Monday (07:00 UTC in Los Angeles in summer, 12:00 UTC at UTC-12): only a build of
that Sunday with the events of the Monday's first hours (`events_through`) holds it, which the
weekly report schedule runs when such a user's send hour comes (docs/operations.md).
"""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MONDAY = 1  # isoweekday


def zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):  # staging maps unknown zones to UTC already
        return UTC


def send_time(week_end: date, timezone: str | None, hour: int) -> datetime:
    """The instant a report for the week ending `week_end` is due for a user in `timezone`."""
    return datetime.combine(week_end + timedelta(days=1), time(hour), tzinfo=zone(timezone))


def local_week_end(week_end: date, timezone: str | None) -> datetime:
    """The instant the week ending on Sunday `week_end` ends for a user in `timezone`:
    Monday 00:00 local time, as UTC. A build holds the whole week when it holds the events
    that happened before this instant."""
    return datetime.combine(week_end + timedelta(days=1), time(), tzinfo=zone(timezone)).astimezone(
        UTC
    )


def is_due(
    week_end: date, timezone: str | None, at: datetime, *, hour: int, grace_days: int
) -> bool:
    """Due from its local send time until `grace_days` later: never early, never stale."""
    due_at = send_time(week_end, timezone, hour)
    return due_at <= at < due_at + timedelta(days=grace_days)


@cache
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zones_at_send_time(at: datetime, hour: int) -> list[str]:
    """The time zones where `at` is exactly Monday `hour`:00 local time."""
    return [
        name
        for name in _all_zones()
        if (local := at.astimezone(zone(name))).isoweekday() == MONDAY
        and (local.hour, local.minute) == (hour, 0)
    ]


def events_needed(week_end: date, at: datetime, hour: int) -> datetime | None:
    """The instant a build must hold the events up to for a run at `at` to send every report
    of the week ending `week_end` that is due by then: the latest end of that local week
    among the time zones whose send time has come (None: none has)."""
    return max(
        (
            local_week_end(week_end, name)
            for name in _all_zones()
            if send_time(week_end, name, hour) <= at
        ),
        default=None,
    )


def reported_week_end(monday: date) -> date:
    """The Sunday that ends the week a Monday's reports are about."""
    return monday - timedelta(days=1)
