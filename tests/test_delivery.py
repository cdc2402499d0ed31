"""The local delivery window: every e-mail is timed for its reader's morning, in every time
zone, at every run time, across daylight-saving changes, and on weekdays only when asked."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from orchestration.emails.delivery import DeliveryWindow
from orchestration.settings import Settings

ZONES = (
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "Europe/London",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
    "UTC",
)
# Days around the 2026 daylight-saving changes (EU 29 Mar / 25 Oct, US 8 Mar / 1 Nov,
# Sydney 5 Apr / 4 Oct), plus an ordinary week from Monday to Sunday.
DAYS = [date(2026, 3, d) for d in (7, 8, 9, 28, 29, 30)]
DAYS += [date(2026, 4, d) for d in (4, 5, 6)] + [date(2026, 10, d) for d in (3, 4, 5, 24, 25, 26)]
DAYS += [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
DAYS += [date(2026, 6, d) for d in range(1, 8)]
RUN_TIMES = [(0, 30), (6, 0), (7, 45), (11, 59), (16, 30), (23, 15)]  # UTC hour, minute


def assert_in_window(at: datetime, window: DeliveryWindow, zone: str, due_on: date) -> None:
    local = at.astimezone(ZoneInfo(zone))
    opening = datetime.combine(local.date(), datetime.min.time()).replace(hour=window.hour)
    wall = local.replace(tzinfo=None)
    assert opening <= wall < opening + timedelta(hours=window.hours), (zone, local)
    assert local.date() >= due_on, (zone, local, due_on)
    assert window.allows(local.date()), (zone, local)


@pytest.mark.parametrize("weekends", [True, False])
@pytest.mark.parametrize("window_hours", [1, 3])
def test_every_delivery_is_inside_the_local_window_on_an_allowed_day(weekends, window_hours):
    window = DeliveryWindow(hour=9, hours=window_hours, weekends=weekends)
    checked = 0
    for day in DAYS:
        for hour, minute in RUN_TIMES:
            # the daily run the day after `day`: triggers of the reader's local `day`
            run = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            run = run.replace(hour=hour, minute=minute)
            for zone in ZONES:
                at = window.delivery_time(day, zone, run)
                assert at >= run
                assert_in_window(at, window, zone, day)
                # never later than the next allowed morning: at most three days ahead
                assert at - run <= timedelta(days=3, hours=1)
                if at > run:  # not "now": it waits for the window to open, on the hour
                    assert (at.astimezone(ZoneInfo(zone)).minute, at.second) == (0, 0)
                checked += 1
    assert checked == len(DAYS) * len(RUN_TIMES) * len(ZONES)


def test_the_00_30_utc_run_delivers_in_the_readers_morning():
    window = DeliveryWindow()  # 09:00 for 3 hours, every day
    tuesday = date(2026, 6, 2)
    run = datetime(2026, 6, 3, 0, 30, tzinfo=UTC)
    expected = {
        "Europe/Paris": datetime(2026, 6, 3, 7, 0, tzinfo=UTC),  # Wed 09:00 CEST
        "Europe/Moscow": datetime(2026, 6, 3, 6, 0, tzinfo=UTC),  # Wed 09:00 MSK
        "Europe/London": datetime(2026, 6, 3, 8, 0, tzinfo=UTC),  # Wed 09:00 BST
        "Asia/Kolkata": datetime(2026, 6, 3, 3, 30, tzinfo=UTC),  # Wed 09:00 IST
        "America/Los_Angeles": datetime(2026, 6, 3, 16, 0, tzinfo=UTC),  # Wed 09:00 PDT
        "Asia/Tokyo": run,  # already Wed 09:30 JST: inside the window, now
        "Australia/Sydney": run,  # Wed 10:30 AEST: now
        "UTC": datetime(2026, 6, 3, 9, 0, tzinfo=UTC),
    }
    for zone, at in expected.items():
        assert window.delivery_time(tuesday, zone, run) == at, zone


def test_daylight_saving_changes_move_the_utc_time_not_the_local_hour():
    window = DeliveryWindow()
    # Paris: 09:00 is 08:00 UTC on Saturday 28 March, 07:00 UTC on Sunday 29 March (summer)
    saturday = datetime(2026, 3, 28, 0, 30, tzinfo=UTC)
    sunday = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert window.delivery_time(date(2026, 3, 27), "Europe/Paris", saturday).hour == 8
    assert window.delivery_time(date(2026, 3, 28), "Europe/Paris", sunday).hour == 7
    # Los Angeles, the Sunday the clocks go forward (8 March): 09:00 PDT = 16:00 UTC
    at = window.delivery_time(
        date(2026, 3, 8), "America/Los_Angeles", datetime(2026, 3, 8, tzinfo=UTC)
    )
    assert at == datetime(2026, 3, 8, 16, tzinfo=UTC)
    # The day the clocks go back, a 09:00-12:00 window still lasts from 09:00 to 12:00 local
    start, end = window.opening(date(2026, 10, 25), "Europe/Paris")
    assert (start, end) == (
        datetime(2026, 10, 25, 8, tzinfo=UTC),
        datetime(2026, 10, 25, 11, tzinfo=UTC),
    )
    # A window opening in the hour the clocks skip opens when they have jumped
    gap = DeliveryWindow(hour=2, hours=2).delivery_time(
        date(2026, 3, 29), "Europe/Paris", datetime(2026, 3, 28, 12, tzinfo=UTC)
    )
    assert gap == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST


def test_a_run_inside_the_window_delivers_now_and_after_it_the_next_morning():
    window = DeliveryWindow(hour=9, hours=3)
    day = date(2026, 6, 3)
    inside = datetime(2026, 6, 3, 9, 40, tzinfo=UTC)
    assert window.delivery_time(day, "UTC", inside) == inside
    assert window.delivery_time(day, "UTC", datetime(2026, 6, 3, 12, tzinfo=UTC)) == datetime(
        2026, 6, 4, 9, tzinfo=UTC
    )
    assert window.delivery_time(day, "UTC", datetime(2026, 6, 3, 8, tzinfo=UTC)) == datetime(
        2026, 6, 3, 9, tzinfo=UTC
    )
    # an unknown or missing time zone is UTC (staging maps unknown zones to UTC already)
    assert window.delivery_time(day, None, inside) == inside
    assert window.delivery_time(day, "Not/AZone", inside) == inside


def test_without_weekends_saturday_and_sunday_deliveries_move_to_monday_morning():
    window = DeliveryWindow(hour=9, hours=3, weekends=False)
    friday, saturday = date(2026, 6, 5), date(2026, 6, 6)
    monday_9_paris = datetime(2026, 6, 8, 7, tzinfo=UTC)
    after_friday_window = datetime(2026, 6, 5, 10, 30, tzinfo=UTC)  # Fri 12:30 CEST
    assert window.delivery_time(friday, "Europe/Paris", after_friday_window) == monday_9_paris
    assert window.delivery_time(saturday, "Europe/Paris", after_friday_window) == monday_9_paris
    assert DeliveryWindow().delivery_time(saturday, "Europe/Paris", after_friday_window) == (
        datetime(2026, 6, 6, 7, tzinfo=UTC)
    )


def test_grace_counts_the_days_an_email_could_have_gone_out():
    every_day, weekdays = DeliveryWindow(), DeliveryWindow(weekends=False)
    friday = date(2026, 6, 5)
    assert [every_day.delivery_days_between(friday, friday + timedelta(n)) for n in range(5)] == [
        0,
        1,
        2,
        3,
        4,
    ]
    # Saturday and Sunday do not count: a Friday trigger is still fresh on Sunday and Monday
    assert [weekdays.delivery_days_between(friday, friday + timedelta(n)) for n in range(5)] == [
        0,
        0,
        0,
        1,
        2,
    ]


def test_the_window_settings_are_validated():
    settings = Settings(_env_file=None)
    assert (settings.delivery_hour, settings.delivery_window_hours) == (9, 3)
    assert settings.deliver_on_weekends is True
    chosen = Settings(
        _env_file=None,
        FLYWHEEL_DELIVERY_HOUR="7",
        FLYWHEEL_DELIVERY_WINDOW_HOURS="2",
        FLYWHEEL_DELIVER_ON_WEEKENDS="false",
    )
    assert (chosen.delivery_hour, chosen.delivery_window_hours, chosen.deliver_on_weekends) == (
        7,
        2,
        False,
    )
    for bad in ({"FLYWHEEL_DELIVERY_HOUR": "24"}, {"FLYWHEEL_DELIVERY_WINDOW_HOURS": "0"}):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, **bad)
    with pytest.raises(ValueError):
        DeliveryWindow(hours=25)
