"""`generate`: deterministic demo data in the raw input contract, optionally with bad rows.

Same arguments, same bytes: every random draw comes from one `numpy.random.default_rng(seed)`
(and a Faker seeded with it) in a fixed order, rows are written in a fixed order, and nothing
depends on the wall clock except the default `end_date`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.demo_data.activity import (
    TIMESTAMP_STYLE_SHARES,
    Z,
    events_table,
    iso_timestamps,
    simulate_activity,
    simulate_events,
)
from orchestration.demo_data.population import (
    Calendar,
    Population,
    build_population,
    epoch,
    utc_offset,
)
from orchestration.demo_data.programme import Send, simulate_sends
from orchestration.emails.groups import trigger_calls_to_action
from orchestration.emails.i18n import negotiate_locale
from orchestration.emails.render import app_link
from orchestration.emails.sending.ledger import LedgerRow, email_hash
from orchestration.settings import Settings

TABLES = ("accounts", "users", "events", "unsubscribes", "email_events")
MANIFEST = "_dirty_manifest.json"
UNSUBSCRIBE_SHARE = 0.02
UNSUBSCRIBE_GROUPS = (None, None, "weekly_report", "inactive_nudge")  # None: all e-mails
BOUNCE_SHARE, CLICK_SHARE, SPAM_SHARE = 0.02, 0.35, 0.002  # of addresses, opens, messages
NUDGE_EFFECT = 0.2  # the planted daily chance that a nudge brings its reader back
DEMO_BACKEND = "demo"  # the send ledger's backend of the simulated sends
DEMO_APP_URL = Settings.model_fields["app_url"].default
FUTURE_DAYS = 2 * 366  # planted future events are at least two years after end_date

BAD_TIMESTAMPS = ("not-a-date", "{year}-13-45T99:00:00Z", "31/02/{year} 25:61", "yesterday")
BAD_EMAILS = ("not-an-email", "a@b", "two@@example.com")
BAD_JSON = ("{bad json", "[1,2]", '{"step": }', '"just text"')
BAD_EMPLOYEE_COUNTS = ("-5", "many", "n/a", "-120")
UNKNOWN_EVENT_NAMES = ("teleport_used", "page_viewed", "coffee_brewed")


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate` wrote: rows per table (planted rows included) and where."""

    out_dir: Path
    start: date
    end: date
    rows: dict[str, int]
    files: dict[str, int]
    paths: dict[str, Path]  # the folder of each table
    planted: dict[str, dict[str, int]] = field(default_factory=dict)  # dirty=True only
    manifest: Path | None = None
    sends: list[LedgerRow] = field(default_factory=list)  # email_history=True only

    def __str__(self) -> str:
        counts = ", ".join(f"{rows:,} {table}" for table, rows in self.rows.items())
        planted = sum(sum(reasons.values()) for reasons in self.planted.values())
        extra = f", {planted:,} of them planted bad rows" if planted else ""
        return f"{counts} ({self.start} to {self.end}{extra})"


@dataclass(frozen=True)
class TableData:
    """A table's good rows in file order plus planted rows, each after a given good row."""

    good: pa.Table
    day: np.ndarray | None = None  # epoch day of each good row: one file per day
    planted: pa.Table | None = None
    after: np.ndarray | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.good.num_rows + (self.planted.num_rows if self.planted is not None else 0)


def generate(
    out_dir: Path,
    *,
    seed: int = 42,
    accounts: int = 60,
    days: int = 180,
    end_date: date | None = None,
    target_events: int = 200_000,
    file_format: Literal["parquet", "csv"] = "parquet",
    dirty: bool = False,
    email_history: bool = False,
    nudge_effect: float = NUDGE_EFFECT,
    progress: bool = True,
) -> GenerationSummary:
    """Write accounts, users, events, unsubscribes (and email_events with `email_history`)
    under `out_dir`, one sub-folder per table, for the days [end_date - days + 1, end_date].

    Files of an earlier run in those folders are replaced. With `dirty`, bad rows of every
    kind are added and listed in `_dirty_manifest.json`. With `email_history`, the window's
    e-mail programme is simulated (programme.py, `nudge_effect` planted): its SendGrid
    events are written, and its send ledger rows returned in `sends`.
    """
    if days < 7 or target_events < 1 or file_format not in ("parquet", "csv"):
        raise ValueError("need days >= 7, target_events >= 1 and a parquet or csv file_format")
    if not 0 <= nudge_effect <= 1:
        raise ValueError(f"nudge_effect is a daily probability (0 to 1), not {nudge_effect}")
    end = end_date or datetime.now(UTC).date() - timedelta(days=1)
    calendar = Calendar(end - timedelta(days=days - 1), end)
    rng = np.random.default_rng(seed)
    with _progress_bar(progress) as bar:
        task = bar.add_task("Simulating accounts and users", total=None)
        population = build_population(calendar, accounts, target_events, rng, seed)
        bar.update(task, description="Simulating events")
        tables, sends = _good_tables(
            population, target_events, nudge_effect if email_history else None, rng
        )
        if dirty:
            bar.update(task, description="Planting bad rows")
            tables = _with_bad_rows(tables, population, target_events, rng)
        bar.update(task, description="Done", total=1, completed=1)
        files = _write_all(Path(out_dir), tables, file_format, bar)
    manifest = _write_manifest(Path(out_dir), tables) if dirty else None
    return GenerationSummary(
        out_dir=Path(out_dir),
        start=calendar.start,
        end=calendar.end,
        rows={name: data.rows for name, data in tables.items()},
        files=files,
        paths={name: Path(out_dir) / name for name in tables},
        planted={name: data.reasons for name, data in tables.items() if dirty},
        manifest=manifest,
        sends=sends,
    )


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
    )


# ---------------------------------------------------------------------------------------
# Good rows


def _good_tables(
    population: Population,
    target_events: int,
    nudge_effect: float | None,
    rng: np.random.Generator,
) -> tuple[dict[str, TableData], list[LedgerRow]]:
    """The good rows of every table; with a `nudge_effect`, the e-mail programme's events and
    its send ledger rows too."""
    activity = simulate_activity(population, rng)
    email_sends = (
        [] if nudge_effect is None else simulate_sends(activity, population, nudge_effect, rng)
    )
    events = simulate_events(population, activity, target_events, rng)
    account_ids = population.accounts.account_id
    tables = {
        "accounts": TableData(_accounts_table(population, rng)),
        "users": TableData(_users_table(population, rng)),
        "events": TableData(
            events_table(events, population.users, account_ids, rng), events.utc // 86_400
        ),
    }
    unsubscribes = _unsubscribes(population, rng)
    tables["unsubscribes"] = TableData(_unsubscribes_table(unsubscribes))
    if nudge_effect is None:
        return tables, []
    email_events, day, ledger = _email_events_table(population, email_sends, unsubscribes, rng)
    tables["email_events"] = TableData(email_events, day)
    return tables, ledger


def _styles(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(TIMESTAMP_STYLE_SHARES), n, p=TIMESTAMP_STYLE_SHARES)


def _timestamps(utc: np.ndarray, zones: list[str | None], rng: np.random.Generator) -> pa.Array:
    """Timestamps of the small tables, with each row's zone for the offset style."""
    offsets = np.array([utc_offset(zone, t) for zone, t in zip(zones, utc, strict=True)])
    return iso_timestamps(np.asarray(utc), offsets, _styles(len(utc), rng))


def _text(values: Iterable[object]) -> pa.Array:
    return pa.array([None if value is None else str(value) for value in values], pa.large_string())


def _accounts_table(population: Population, rng: np.random.Generator) -> pa.Table:
    accounts = population.accounts
    return pa.table(
        {
            "account_id": _text(accounts.account_id),
            "account_name": _text(accounts.name),
            "industry": _text(accounts.industry),
            "employee_count": _text(accounts.employee_count.tolist()),
            "plan": _text(accounts.plan),
            "seats": _text(accounts.seats.tolist()),
            "created_at": _timestamps(accounts.created_utc, accounts.zone, rng),
            "country": _text(accounts.country),
        }
    )


def _users_table(population: Population, rng: np.random.Generator) -> pa.Table:
    users, account_ids = population.users, population.accounts.account_id
    return pa.table(
        {
            "user_id": _text(users.user_id),
            "account_id": _text([account_ids[a] for a in users.account]),
            "email": _text(users.email),
            "first_name": _text(users.first_name),
            "locale": _text(users.locale),
            "timezone": _text(users.timezone),
            "role": _text(users.role),
            "created_at": _timestamps(users.created_utc, users.timezone, rng),
        }
    )


@dataclass(frozen=True)
class Unsubscribe:
    user: int
    email: str
    utc: int
    group: str | None


def _unsubscribes(population: Population, rng: np.random.Generator) -> list[Unsubscribe]:
    """A handful of users who opted out during the window, in time order."""
    users, calendar = population.users, population.calendar
    first, last = epoch(calendar.start), epoch(calendar.end) + 86_399
    candidates = np.flatnonzero(users.created_utc + 86_400 < last)
    count = min(len(candidates), max(3, round(len(users) * UNSUBSCRIBE_SHARE)))
    rows = [
        Unsubscribe(
            int(u),
            users.email[u],
            int(rng.integers(max(first, users.created_utc[u] + 86_400), last)),
            UNSUBSCRIBE_GROUPS[int(rng.integers(0, len(UNSUBSCRIBE_GROUPS)))],
        )
        for u in rng.choice(candidates, count, replace=False)
    ]
    return sorted(rows, key=lambda row: (row.utc, row.user))


def _unsubscribes_table(unsubscribes: list[Unsubscribe]) -> pa.Table:
    utc = np.array([row.utc for row in unsubscribes], dtype=np.int64)
    zero = np.zeros(len(utc), dtype=np.int64)
    return pa.table(
        {
            "email": _text([row.email for row in unsubscribes]),
            "unsubscribed_at": iso_timestamps(utc, zero, np.full(len(utc), Z)),
            "group": _text([row.group for row in unsubscribes]),
        }
    )


def _email_events_table(
    population: Population,
    sends: list[Send],
    unsubscribes: list[Unsubscribe],
    rng: np.random.Generator,
) -> tuple[pa.Table, np.ndarray, list[LedgerRow]]:
    """SendGrid webhook events of the programme's sends, and their send ledger rows. An opt-out
    (from every e-mail, or from the send's group) stops the sends after it. A few addresses
    are bad: the first e-mail bounces, and nothing more is sent there."""
    users = population.users
    opted_out: dict[tuple[int, str | None], int] = {}
    for row in unsubscribes:  # in time order: the first opt-out of a kind stops the sends
        opted_out.setdefault((row.user, row.group), row.utc)
    last_moment = epoch(population.calendar.end) + 86_399
    calls_to_action = trigger_calls_to_action()
    rows: list[tuple[int, str, str, str, str | None, str | None]] = []
    ledger: list[LedgerRow] = []
    bad_address = rng.random(len(users)) < BOUNCE_SHARE
    bounced: set[int] = set()
    for send in sends:
        stopped_at = min(
            opted_out.get((send.user, group), last_moment + 1)
            for group in (None, send.trigger_type)
        )
        if send.user in bounced or stopped_at <= send.utc:
            continue
        email = users.email[send.user]
        key = f"{users.user_id[send.user]}:{send.trigger_type}:{send.period_key}"
        cta = calls_to_action[send.trigger_type]
        url = app_link(DEMO_APP_URL, cta["cta_path"], send.trigger_type, cta["cta_id"])
        message = _message_events(send, email, key, url, bad_address[send.user], rng)
        if bad_address[send.user]:
            bounced.add(send.user)
        rows.extend(message)
        ledger.append(_ledger_row(send, key, email, message[0][3], users.locale[send.user]))
    rows.extend(_unsubscribe_events(unsubscribes, rows))
    rows = sorted((row for row in rows if row[0] <= last_moment), key=lambda row: row[:3])
    utc = np.array([row[0] for row in rows], dtype=np.int64)
    table = pa.table(
        {
            "sg_event_id": _text([_token(rng) for _ in rows]),
            "sg_message_id": _text([row[3] for row in rows]),
            "email": _text([row[1] for row in rows]),
            "event": _text([row[2] for row in rows]),
            "timestamp": _text(utc.tolist()),
            "send_key": _text([row[4] for row in rows]),
            # a click follows the e-mail's button: seed trigger_priorities' call to action,
            # with the UTM parameters every Flywheel link carries
            "url": _text([row[5] for row in rows]),
        }
    )
    return table, utc // 86_400, ledger


def _message_events(
    send: Send, email: str, send_key: str, url: str, bounces: bool, rng: np.random.Generator
) -> list[tuple[int, str, str, str, str | None, str | None]]:
    """Delivered (or bounced), then perhaps opened a few times, clicked (at the planted
    moment, if any), marked as spam."""
    message = f"{_token(rng)}.filterdrecv-{int(rng.integers(1, 9))}-0"
    delivered = send.utc + int(rng.integers(2, 90))
    if bounces:
        return [(delivered, email, "bounce", message, send_key, None)]
    rows = [(delivered, email, "delivered", message, send_key, None)]
    opens = delivered + np.sort(rng.integers(60, 2 * 86_400, rng.poisson(0.8)))
    if send.clicked_utc is not None:
        opens = np.append(send.clicked_utc - int(rng.integers(5, 600)), opens)
        clicked = send.clicked_utc
    else:
        clicked = int(opens[0]) + int(rng.integers(5, 600)) if len(opens) else None
        clicked = clicked if rng.random() < CLICK_SHARE else None
    rows += [(int(t), email, "open", message, send_key, None) for t in opens]
    if clicked is not None:
        rows.append((clicked, email, "click", message, send_key, url))
    if rng.random() < SPAM_SHARE:
        rows.append(
            (
                delivered + int(rng.integers(60, 86_400)),
                email,
                "spamreport",
                message,
                send_key,
                None,
            )
        )
    return rows


def _ledger_row(send: Send, send_key: str, email: str, message: str, locale: str) -> LedgerRow:
    """The ledger row of a send the provider accepted at once (the X-Message-Id is the
    event's sg_message_id before its first dot)."""
    sent = datetime.fromtimestamp(send.utc, UTC).replace(tzinfo=None)  # the ledger's naive UTC
    return LedgerRow(
        send_key=send_key,
        trigger_type=send.trigger_type,
        locale=negotiate_locale(locale),
        to_email_hash=email_hash(email),
        backend=DEMO_BACKEND,
        status="accepted",
        attempts=1,
        batch_id=None,
        send_at=None,
        first_attempt_at=sent,
        last_attempt_at=sent,
        accepted_at=sent,
        provider_message_id=message.split(".", 1)[0],
        failure_kind=None,
        error=None,
        updated_at=sent,
        scheduled_for=None,
    )


def _unsubscribe_events(unsubscribes: list[Unsubscribe], rows: list[tuple]) -> list[tuple]:
    """The unsubscribe (or group unsubscribe) click in the last e-mail before opting out."""
    delivered: dict[str, list[tuple]] = {}
    for row in rows:
        if row[2] == "delivered":
            delivered.setdefault(row[1], []).append(row)
    events = []
    for unsubscribe in unsubscribes:
        earlier = [row for row in delivered.get(unsubscribe.email, []) if row[0] < unsubscribe.utc]
        if earlier:
            _, email, _, message, key, _ = max(earlier)
            kind = "unsubscribe" if unsubscribe.group is None else "group_unsubscribe"
            events.append((unsubscribe.utc, email, kind, message, key, None))
    return events


def _token(rng: np.random.Generator) -> str:
    return base64.urlsafe_b64encode(rng.bytes(16)).decode().rstrip("=")


# ---------------------------------------------------------------------------------------
# Bad rows (dirty=True). Each planted row breaks exactly one rule, the first the pipeline
# checks for it, so the manifest says how many rows each reason code must quarantine.


class _Planter:
    """Collects the planted rows of one table and the good row each one follows."""

    def __init__(self, data: TableData, base: int, rng: np.random.Generator) -> None:
        self.data, self.base, self.rng = data, base, rng
        self.rows: list[dict] = []
        self.after: list[int] = []
        self.reasons: dict[str, int] = {}

    def templates(self, reason: str) -> list[tuple[int, dict]]:
        """A few random good rows to copy for `reason` (3 to 20, about `base`)."""
        count = int(np.clip(self.base + self.rng.integers(-2, 3), 3, 20))
        n = self.data.good.num_rows
        index = np.sort(self.rng.choice(n, count, replace=count > n))
        self.reasons[reason] = count
        return list(zip(index.tolist(), self.data.good.take(index).to_pylist(), strict=True))

    def add(self, row: dict, after: int) -> None:
        self.rows.append(row)
        self.after.append(after)

    def random_row(self, low: int = 0, high: int | None = None) -> int:
        """A good row index in [low, high), high defaulting to the number of good rows."""
        return int(self.rng.integers(low, self.data.good.num_rows if high is None else high))

    def result(self) -> TableData:
        planted = pa.Table.from_pylist(self.rows, schema=self.data.good.schema)
        return replace(self.data, planted=planted, after=np.array(self.after), reasons=self.reasons)


def _with_bad_rows(
    tables: dict[str, TableData],
    population: Population,
    target_events: int,
    rng: np.random.Generator,
) -> dict[str, TableData]:
    # Ids no good or planted row has.
    unknown_users = len(population.users) + 5_000
    unknown_accounts = len(population.accounts.account_id) + 500
    base = int(np.clip(round(np.log2(len(population.accounts.account_id))) - 1, 3, 10))
    event_base = int(np.clip(round(2 * np.log10(target_events)), 3, 16))
    users = _Planter(tables["users"], base, rng)
    events = _Planter(tables["events"], event_base, rng)
    return {
        **tables,
        "accounts": _bad_accounts(_Planter(tables["accounts"], base, rng), population),
        "users": _bad_users(users, population, unknown_accounts),
        "unsubscribes": _bad_unsubscribes(_Planter(tables["unsubscribes"], 3, rng), population),
        "events": _bad_events(events, population, unknown_users, unknown_accounts),
    }


def _bad_timestamp(j: int, population: Population) -> str:
    return BAD_TIMESTAMPS[j % len(BAD_TIMESTAMPS)].format(year=population.calendar.end.year)


def _bad_accounts(planter: _Planter, population: Population) -> TableData:
    next_id = iter(range(len(population.accounts.account_id) + 1, 10**6))
    blank = (None, "")
    for j, (_, row) in enumerate(planter.templates("missing_id")):
        planter.add({**row, "account_id": blank[j % 2]}, planter.random_row())
    for i, row in planter.templates("duplicate_id"):
        planter.add(row, planter.random_row(i))
    for j, (_, row) in enumerate(planter.templates("invalid_timestamp")):
        bad = {
            "account_id": f"acc_{next(next_id):04d}",
            "created_at": _bad_timestamp(j, population),
        }
        planter.add({**row, **bad}, planter.random_row())
    for j, (_, row) in enumerate(planter.templates("invalid_value")):
        count = BAD_EMPLOYEE_COUNTS[j % len(BAD_EMPLOYEE_COUNTS)]
        bad = {"account_id": f"acc_{next(next_id):04d}", "employee_count": count}
        planter.add({**row, **bad}, planter.random_row())
    return planter.result()


def _bad_users(planter: _Planter, population: Population, unknown_accounts: int) -> TableData:
    """Planted users are new people (new id and e-mail) who own no events."""
    next_number = iter(range(len(population.users) + 1, 10**7))

    def newcomer(row: dict) -> dict:
        number = next(next_number)
        domain = row["email"].split("@")[1]
        return {**row, "user_id": f"usr_{number:06d}", "email": f"new.hire{number}@{domain}"}

    missing = (("user_id", None), ("user_id", ""), ("account_id", None), ("account_id", ""))
    for j, (_, row) in enumerate(planter.templates("missing_id")):
        column, value = missing[j % len(missing)]
        planter.add({**newcomer(row), column: value}, planter.random_row())
    for i, row in planter.templates("duplicate_id"):
        planter.add(row, planter.random_row(i))
    for j, (_, row) in enumerate(planter.templates("invalid_timestamp")):
        planter.add(
            {**newcomer(row), "created_at": _bad_timestamp(j, population)}, planter.random_row()
        )
    for j, (_, row) in enumerate(planter.templates("invalid_email")):
        planter.add(
            {**newcomer(row), "email": BAD_EMAILS[j % len(BAD_EMAILS)]}, planter.random_row()
        )
    for j, (_, row) in enumerate(planter.templates("unknown_account")):
        unknown = f"acc_{unknown_accounts + j:04d}"
        planter.add({**newcomer(row), "account_id": unknown}, planter.random_row())
    return planter.result()


def _bad_unsubscribes(planter: _Planter, population: Population) -> TableData:
    for j, (_, row) in enumerate(planter.templates("invalid_email")):
        planter.add({**row, "email": BAD_EMAILS[j % len(BAD_EMAILS)]}, planter.random_row())
    emails = population.users.email
    for j, (_, row) in enumerate(planter.templates("invalid_timestamp")):
        email = emails[planter.random_row(0, len(emails))]
        bad = {"email": email, "unsubscribed_at": _bad_timestamp(j, population)}
        planter.add({**row, **bad}, planter.random_row())
    return planter.result()


def _bad_events(
    planter: _Planter, population: Population, unknown_users: int, unknown_accounts: int
) -> TableData:
    """Bad events sit in the daily file of the good event they copy (future ones in the last
    file); duplicates are exact copies placed after their original, in its file or a later one.
    """
    day, rng = planter.data.day, planter.rng
    n = len(day)
    new_id = (f"evt_{number:010d}" for number in range(n + 1, 10**10))

    def add(i: int, row: dict, **changes) -> None:
        """A copy of good row i with a new event id and `changes`, somewhere in i's file."""
        first, last = np.searchsorted(day, day[i]), np.searchsorted(day, day[i], "right")
        planter.add({**row, "event_id": next(new_id), **changes}, planter.random_row(first, last))

    missing = (
        ("event_id", None),
        ("event_id", ""),
        ("user_id", None),
        ("user_id", ""),
        ("account_id", ""),
    )
    for j, (i, row) in enumerate(planter.templates("missing_id")):
        column, value = missing[j % len(missing)]
        add(i, row, **{column: value})
    rows_per_day = max(1, n // len(np.unique(day)))
    for i, row in planter.templates("duplicate_id"):
        planter.add(row, planter.random_row(i, min(n, i + 2 * rows_per_day)))
    for j, (i, row) in enumerate(planter.templates("invalid_timestamp")):
        add(i, row, occurred_at=_bad_timestamp(j, population))
    last_file = int(np.searchsorted(day, day[-1]))
    future = planter.templates("future_timestamp")
    for text, (_, row) in zip(
        _future_timestamps(population, len(future), rng), future, strict=True
    ):
        row = {**row, "event_id": next(new_id), "occurred_at": text}
        planter.add(row, planter.random_row(last_file))
    for j, (i, row) in enumerate(planter.templates("unknown_event_name")):
        add(i, row, event_name=UNKNOWN_EVENT_NAMES[j % len(UNKNOWN_EVENT_NAMES)])
    for j, (i, row) in enumerate(planter.templates("invalid_json")):
        add(i, row, properties=BAD_JSON[j % len(BAD_JSON)])
    for j, (i, row) in enumerate(planter.templates("unknown_user")):
        add(i, row, user_id=f"usr_{unknown_users + j:06d}")
    for j, (i, row) in enumerate(planter.templates("unknown_account")):
        add(i, row, account_id=f"acc_{unknown_accounts + j:04d}")
    account_ids = population.accounts.account_id
    for i, row in planter.templates("account_mismatch"):
        others = [account for account in account_ids if account != row["account_id"]]
        add(i, row, account_id=others[int(rng.integers(0, len(others)))])
    return planter.result()


def _future_timestamps(population: Population, count: int, rng: np.random.Generator) -> list[str]:
    """Valid timestamps at least two years after the window, whatever the load date."""
    first = epoch(population.calendar.end) + FUTURE_DAYS * 86_400
    utc = rng.integers(first, first + 365 * 86_400, count)
    return iso_timestamps(utc, np.zeros(count, dtype=np.int64), _styles(count, rng)).to_pylist()


# ---------------------------------------------------------------------------------------
# Writing


def _write_all(
    out_dir: Path, tables: dict[str, TableData], file_format: str, bar: Progress
) -> dict[str, int]:
    """Write every file, two at a time (parquet encoding and zstd release the GIL)."""
    files = {name: _file_count(data) for name, data in tables.items()}
    task = bar.add_task("Writing files", total=sum(files.values()))
    for name in TABLES:
        _clear(out_dir / name)
        if name in tables:
            (out_dir / name).mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [
            pool.submit(_write_file, table, out_dir / name / f"{stem}.{file_format}")
            for name, data in tables.items()
            for stem, table in _files(name, data)
        ]
        for future in pending:
            future.result()
            bar.advance(task)
    return files


def _file_count(data: TableData) -> int:
    return 1 if data.day is None else len(np.unique(data.day))


def _clear(folder: Path) -> None:
    """Remove the data files an earlier run wrote, so the folder holds this run only."""
    if folder.is_dir():
        for path in folder.iterdir():
            if path.suffix in (".parquet", ".csv"):
                path.unlink()


def _files(name: str, data: TableData) -> Iterator[tuple[str, pa.Table]]:
    """(file stem, rows): one file per table, or per UTC day for tables with `day`."""
    planted = data.planted if data.planted is not None else data.good.slice(0, 0)
    after = data.after if data.after is not None else np.zeros(0, dtype=np.int64)
    if data.day is None:
        yield name, _interleave(data.good, 0, planted, after)
        return
    starts = np.flatnonzero(np.diff(data.day, prepend=data.day[0] - 1))
    ends = np.append(starts[1:], len(data.day))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        mine = (after >= start) & (after < end)
        stem = str(np.datetime64(int(data.day[start]), "D"))
        yield (
            stem,
            _interleave(
                data.good.slice(start, end - start), start, planted.filter(mine), after[mine]
            ),
        )


def _interleave(good: pa.Table, first: int, planted: pa.Table, after: np.ndarray) -> pa.Table:
    """Good rows first..first+len(good)-1 with each planted row right after its `after` row."""
    if not planted.num_rows:
        return good
    keys = np.concatenate([2 * np.arange(first, first + good.num_rows), 2 * after + 1])
    return pa.concat_tables([good, planted]).take(np.argsort(keys, kind="stable"))


def _write_file(table: pa.Table, path: Path) -> None:
    table = table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))
    if path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path, compression="zstd")


def _write_manifest(out_dir: Path, tables: dict[str, TableData]) -> Path:
    manifest = {
        "tables": {
            name: {"rows": data.rows, "planted": data.reasons} for name, data in tables.items()
        }
    }
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
