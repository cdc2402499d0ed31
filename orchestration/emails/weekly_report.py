"""When a weekly report goes out: the Monday after the reported week, at a local hour.

The report is dated the Sunday that ends its ISO week (user-local days), so the daily build
of that UTC Sunday has it ready. It is delivered at `FLYWHEEL_WEEKLY_REPORT_HOUR` on the next
Monday in the user's own time zone, daylight-saving time included, or as soon as possible
after that when the build was not ready yet (east of UTC the local Monday morning comes
before the UTC Sunday has closed). It is never sent later than the grace days allow.
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


def reported_week_end(monday: date) -> date:
    """The Sunday that ends the week a Monday's reports are about."""
    return monday - timedelta(days=1)
