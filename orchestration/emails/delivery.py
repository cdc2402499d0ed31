"""When an e-mail should reach its reader: inside a morning window of their own local day.

Every e-mail has a local day it is due on (a trigger's `triggered_on`, or the Monday after a
weekly report's week) and the reader's IANA time zone. It is delivered at the first instant,
no earlier than the backend can deliver, that lies inside a delivery window: from `hour`:00
local time for `hours` hours, on that day or a later one, and only on weekdays when weekends
are switched off (a Saturday or Sunday delivery moves to Monday morning). So a run inside the
window delivers now; a run after it delivers the next morning; a run before it, at its start.
Daylight-saving time is zoneinfo's: 09:00 in Paris is 08:00 UTC in winter and 07:00 in summer.
A window that opens in a skipped hour (spring forward) opens when the clocks have jumped.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
from pydantic import Field

from orchestration.emails.weekly_report import zone
from orchestration.settings import Settings

SATURDAY = 6  # isoweekday


@dataclass(frozen=True)
class DeliveryWindow:
    """The local hours an e-mail may arrive in: `hour`:00 for `hours` hours, on the days
    allowed."""

    hour: int = 9
    hours: int = 3
    weekends: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError("the delivery hour is a local hour, 0 to 23")
        if not 1 <= self.hours <= 24:
            raise ValueError("the delivery window lasts 1 to 24 hours")

    def allows(self, day: date) -> bool:
        """Whether a window opens on this local day."""
        return self.weekends or day.isoweekday() < SATURDAY

    def opening(self, day: date, timezone: str | None) -> tuple[datetime, datetime]:
        """The window of a local day, as UTC instants [start, end)."""
        start = datetime.combine(day, time(self.hour), tzinfo=zone(timezone))
        # Wall-clock arithmetic: 09:00 + 3 h is 12:00 even on a day the clocks change.
        end = start + timedelta(hours=self.hours)
        return start.astimezone(UTC), end.astimezone(UTC)

    def delivery_time(self, due_on: date, timezone: str | None, earliest: datetime) -> datetime:
        """The first instant at or after `earliest` (aware) inside a window that opens on
        `due_on` or a later allowed local day, as an aware UTC datetime."""
        earliest = earliest.astimezone(UTC)
        # A window can run past midnight: start the search a day before `earliest`'s date.
        day = max(due_on, earliest.astimezone(zone(timezone)).date() - timedelta(days=1))
        for _ in range(10):  # at most two weekend days to skip, plus a day for midnight
            if self.allows(day):
                start, end = self.opening(day, timezone)
                if earliest < start:
                    return start
                if earliest < end:
                    return earliest
            day += timedelta(days=1)
        raise AssertionError("a window opens within a week")

    def delivery_days_between(self, earlier: date, later: date) -> int:
        """How many allowed days lie after `earlier`, up to and including `later`: how late
        a trigger from `earlier` is on `later`, counted in days it could have gone out."""
        days = (later - earlier).days
        if self.weekends or days <= 0:
            return max(days, 0)
        return sum(self.allows(earlier + timedelta(days=n)) for n in range(1, days + 1))


@dataclass(frozen=True)
class DeliverySlot:
    """One e-mail's delivery: its reader's time zone, the local day it is due and the
    window."""

    timezone: str | None
    due_on: date
    window: DeliveryWindow

    def delivery_time(self, earliest: datetime) -> datetime:
        """`DeliveryWindow.delivery_time` for this e-mail; naive UTC in, naive UTC out (the
        ledger's convention)."""
        at = self.window.delivery_time(self.due_on, self.timezone, earliest.replace(tzinfo=UTC))
        return at.replace(tzinfo=None)


class DeliveryRules(dg.ConfigurableResource):
    """The `delivery_rules` resource: which triggers are still sent, and when each e-mail
    arrives (the render step, the weekly report schedule and `flywheel run` read it)."""

    grace_days: int = Field(
        1, ge=0, description="FLYWHEEL_SEND_GRACE_DAYS: triggers up to this many days old are sent"
    )
    weekly_report_hour: int = Field(
        8, ge=0, le=23, description="FLYWHEEL_WEEKLY_REPORT_HOUR: local hour, on Mondays"
    )
    delivery_hour: int = Field(9, ge=0, le=23, description="FLYWHEEL_DELIVERY_HOUR")
    delivery_window_hours: int = Field(3, ge=1, le=24, description="FLYWHEEL_DELIVERY_WINDOW_HOURS")
    deliver_on_weekends: bool = Field(True, description="FLYWHEEL_DELIVER_ON_WEEKENDS")

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryRules":
        return cls(
            grace_days=settings.send_grace_days,
            weekly_report_hour=settings.weekly_report_hour,
            delivery_hour=settings.delivery_hour,
            delivery_window_hours=settings.delivery_window_hours,
            deliver_on_weekends=settings.deliver_on_weekends,
        )

    def window(self, trigger_type: str) -> DeliveryWindow:
        """The local window an e-mail arrives in: the weekly report's opens at its own hour."""
        weekly = trigger_type == "weekly_report"
        return DeliveryWindow(
            hour=self.weekly_report_hour if weekly else self.delivery_hour,
            hours=self.delivery_window_hours,
            weekends=self.deliver_on_weekends,
        )
