"""What the provider's events say about attempts in doubt.

SendGrid's Event Webhook reports each message it handles with the message's `custom_args`, so
every event carries the `send_key` (`orchestration/feedback/`: webhook → raw files → the
`email_events` raw table → `staging.stg_sendgrid__email_events`). For an attempt in doubt:

- an event for its send_key at or after the attempt (`processed`, `delivered`, `deferred`,
  `bounce`, or any engagement) means the provider took it: it is sent;
- no such event, although the events received reach `settle` past its `send_at` (the latest
  event time loaded is later than that), means it was not taken: a cancelled batch is
  discarded, and anything else is processed at its `send_at`. It is sent again.

The second rule trusts that the events arrive: it applies only once the event feed has
reached past the message's send_at, never on a warehouse that receives no events.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from orchestration.warehouse import WAREHOUSE_ERRORS, WarehouseConnection

logger = logging.getLogger(__name__)

EVENTS_RELATION = "staging.stg_sendgrid__email_events"
# The events that show the provider took a message. `dropped` is left out: SendGrid drops a
# message it will not send (a suppressed address), so re-sending it cannot reach anyone.
TAKEN_EVENTS = (
    "processed",
    "delivered",
    "deferred",
    "bounce",
    "open",
    "click",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
)
# Clocks differ: an event up to this long before the attempt started still counts for it.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ProviderEvent:
    send_key: str
    event_type: str
    event_at: datetime  # naive UTC
    sg_message_id: str | None


@dataclass(frozen=True)
class EventLog:
    """The provider's events for some send_keys, and how far the event feed has come."""

    events: dict[str, list[ProviderEvent]] = field(default_factory=dict)
    received_until: datetime | None = None  # the latest event time loaded (naive UTC)

    def taken_since(self, send_key: str, attempt_at: datetime | None) -> ProviderEvent | None:
        """The first event showing the message was taken by an attempt made at
        `attempt_at` (None: any)."""
        since = None if attempt_at is None else attempt_at - _CLOCK_SKEW
        for event in self.events.get(send_key, ()):
            if since is None or event.event_at >= since:
                return event
        return None

    def reached(self, moment: datetime) -> bool:
        """Whether the events received reach `moment`."""
        return self.received_until is not None and self.received_until >= moment


class EventSource(Protocol):
    def read(self, con: WarehouseConnection, send_keys: list[str]) -> EventLog: ...


@dataclass(frozen=True)
class WarehouseEvents:
    """The events in the warehouse's relation `relation` (columns send_key, event_type,
    event_at, sg_message_id): the staged SendGrid events by default. No relation: no events."""

    relation: str = EVENTS_RELATION

    def read(self, con: WarehouseConnection, send_keys: list[str]) -> EventLog:
        try:
            return self._read(con, send_keys)
        except WAREHOUSE_ERRORS as error:  # e.g. a view over a raw table that is being rebuilt
            logger.warning(
                "send: the provider's events in %s cannot be read (%s): nothing is settled "
                "by events in this run",
                self.relation,
                type(error).__name__,
            )
            return EventLog()

    def _read(self, con: WarehouseConnection, send_keys: list[str]) -> EventLog:
        schema, _, name = self.relation.rpartition(".")
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema or "main", name],
        ).fetchone()[0]
        if not found:
            return EventLog()
        received_until = con.execute(f"select max(event_at) from {self.relation}").fetchone()[0]
        events: dict[str, list[ProviderEvent]] = {}
        if send_keys:
            rows = con.execute(
                f"select send_key, event_type, event_at, sg_message_id from {self.relation} "
                "where send_key in (select unnest(?::varchar[])) "
                "and event_type in (select unnest(?::varchar[])) order by event_at",
                [send_keys, list(TAKEN_EVENTS)],
            ).fetchall()
            for row in rows:
                events.setdefault(row[0], []).append(ProviderEvent(*row))
        return EventLog(events, received_until)
