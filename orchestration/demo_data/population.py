"""The simulated customers: the calendar, accounts, their users and each user's persona.

Everything here is small (one row per account or user), so plain Python loops are fine;
only the events (see `activity`) need to be vectorised.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from zoneinfo import ZoneInfo

import numpy as np
from faker import Faker
from faker.decode import unidecode

# Employee bands of the peer cohorts. The largest band deliberately gets fewer accounts than
# `min_cohort_size` (5), so the anonymity rule has something to hide; every other band has
# at least 5 accounts that existed before the window, so its benchmarks are published.
BANDS = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 20_000))
LARGEST_BAND_ACCOUNTS = 3
MIN_COHORT = 5
# Below EXACT_ACCOUNTS (23) the last band before 1001+ gets fewer than 5 accounts too;
# below MIN_ACCOUNTS some band would be empty.
EXACT_ACCOUNTS = MIN_COHORT * (len(BANDS) - 1) + LARGEST_BAND_ACCOUNTS
MIN_ACCOUNTS = MIN_COHORT * (len(BANDS) - 2) + 1 + LARGEST_BAND_ACCOUNTS
BAND_SHARES = (0.26, 0.32, 0.25, 0.17)  # how the accounts above the minimum spread
NEW_ACCOUNT_SHARES = (0.25, 0.2, 0.12, 0.08)  # accounts of a band created during the window
USERS_PER_ACCOUNT = ((1, 4), (3, 8), (5, 14), (9, 22), (18, 34))
PLANS_BY_BAND = (
    {"free": 0.35, "team": 0.5, "business": 0.15},
    {"free": 0.1, "team": 0.5, "business": 0.35, "enterprise": 0.05},
    {"team": 0.3, "business": 0.5, "enterprise": 0.2},
    {"business": 0.5, "enterprise": 0.5},
    {"enterprise": 1.0},
)
INDUSTRIES = (
    "software",
    "fintech",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
    "logistics",
    "real_estate",
    "consulting",
)


@dataclass(frozen=True)
class Country:
    weight: float
    zones: dict[str, float]  # the first zone is the head office's
    locales: dict[str, float]  # the first locale is the head office's


COUNTRIES = {
    "US": Country(
        0.28,
        {"America/New_York": 0.5, "America/Chicago": 0.2, "America/Los_Angeles": 0.3},
        {"en": 1.0},
    ),
    "GB": Country(0.10, {"Europe/London": 1.0}, {"en": 1.0}),
    "FR": Country(0.16, {"Europe/Paris": 1.0}, {"fr": 0.9, "en": 0.1}),
    "RU": Country(
        0.14,
        {
            "Europe/Moscow": 0.7,
            "Asia/Yekaterinburg": 0.1,
            "Asia/Vladivostok": 0.15,
            "Asia/Kamchatka": 0.05,
        },
        {"ru": 0.9, "en": 0.1},
    ),
    "CA": Country(
        0.07, {"America/Toronto": 0.6, "America/Vancouver": 0.4}, {"fr-CA": 0.5, "en": 0.5}
    ),
    "DE": Country(0.05, {"Europe/Berlin": 1.0}, {"de": 0.7, "en": 0.3}),
    "AU": Country(0.06, {"Australia/Sydney": 0.75, "Australia/Perth": 0.25}, {"en": 1.0}),
    "NZ": Country(0.03, {"Pacific/Auckland": 1.0}, {"en": 1.0}),
    "JP": Country(0.03, {"Asia/Tokyo": 1.0}, {"ja": 0.6, "en": 0.4}),
    "IN": Country(0.05, {"Asia/Kolkata": 1.0}, {"en": 1.0}),
    "BR": Country(0.03, {"America/Sao_Paulo": 1.0}, {"pt-BR": 0.6, "en": 0.4}),
}
# Present whatever the size: en/fr/ru/fr-CA locales, DST zones and zones east of UTC+10.
REQUIRED_COUNTRIES = ("US", "FR", "RU", "AU", "NZ", "CA", "GB", "IN")
REMOTE_ZONES = (
    "UTC",
    "Europe/Lisbon",
    "Asia/Dubai",
    "Asia/Singapore",
    "America/Denver",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
)
REMOTE_SHARE = 0.08
BROKEN_ZONES = (None, "Mars/Olympus", "Europe/Atlantis")  # the pipeline maps these to UTC
BROKEN_ZONE_SHARE = 0.015
FAKER_LOCALES = {
    "en": "en_US",
    "fr": "fr_FR",
    "fr-CA": "fr_CA",
    "ru": "ru_RU",
    "de": "de_DE",
    "ja": "ja_JP",
    "pt-BR": "pt_BR",
}
COMPANY_LOCALES = {"FR": "fr_FR", "RU": "ru_RU", "CA": "fr_CA", "DE": "de_DE", "JP": "ja_JP"}
ROLES = {"member": 0.75, "manager": 0.15, "viewer": 0.1}

PERSONAS = ("casual", "habitual", "power", "returner")
CASUAL, HABITUAL, POWER, RETURNER = range(len(PERSONAS))
PERSONA_SHARES = (0.37, 0.3, 0.13, 0.2)
ADMIN_PERSONA_SHARES = (0.15, 0.4, 0.3, 0.15)
WEEKEND_WORKER_SHARES = (0.03, 0.45, 0.35, 0.05)
AUTOMATION_SHARES = (0.0, 0.4, 1.0, 0.3)  # users who run automations at all
ONBOARDING_STEPS = 5
STALL_SHARE = 0.3  # newcomers who stop at some onboarding step
CRM_SHARE = 0.55  # newcomers reaching step 3 who connect a CRM on that day
EXPANDING_SHARE = 0.3  # accounts that add users during the window
NOT_CREATED = -1  # `created_day` of users created before the simulated days


@dataclass(frozen=True)
class Calendar:
    """The window [start, end] plus one simulated local day on each side.

    Local days at the edges spill into the window's first and last UTC days (Auckland's
    morning is the previous UTC day, Los Angeles' evening the next one).
    """

    start: date
    end: date

    @cached_property
    def days(self) -> list[date]:
        first = self.start - timedelta(days=1)
        return [first + timedelta(days=i) for i in range((self.end - self.start).days + 3)]

    @cached_property
    def midnights(self) -> np.ndarray:
        """Epoch seconds of each simulated day's midnight, read as if it were UTC."""
        return np.array([epoch(day) for day in self.days], dtype=np.int64)

    @cached_property
    def weekend(self) -> np.ndarray:
        return np.array([day.weekday() >= 5 for day in self.days])

    def in_window(self, utc_seconds: np.ndarray) -> np.ndarray:
        utc_day = utc_seconds // 86_400
        return (utc_day >= epoch(self.start) // 86_400) & (utc_day <= epoch(self.end) // 86_400)


@dataclass(frozen=True)
class Accounts:
    account_id: list[str]
    name: list[str]
    industry: list[str]
    employee_count: np.ndarray
    plan: list[str]
    seats: np.ndarray
    created_utc: np.ndarray
    country: list[str]
    zone: list[str]
    band: np.ndarray


@dataclass(frozen=True)
class Users:
    """One entry per user; `account` indexes `Accounts`, days index `Calendar.days`."""

    user_id: list[str]
    account: np.ndarray
    email: list[str]
    first_name: list[str]
    locale: list[str]
    timezone: list[str | None]
    role: list[str]
    created_utc: np.ndarray
    created_day: np.ndarray  # NOT_CREATED for users older than the simulated days
    persona: np.ndarray
    weekend_worker: np.ndarray
    uses_automation: np.ndarray
    onboarding_steps: np.ndarray  # steps the newcomer completes (0 for older users)
    connects_crm: np.ndarray
    inviter: np.ndarray  # the admin who invited a newcomer, -1 if none

    def __len__(self) -> int:
        return len(self.user_id)


@dataclass(frozen=True)
class Population:
    calendar: Calendar
    accounts: Accounts
    users: Users


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@cache
def zone_info(name: str | None) -> ZoneInfo:
    """The zone the pipeline will use: unknown or missing names fall back to UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def local_to_utc(zone: str | None, day: date, seconds: float) -> int:
    wall = datetime(day.year, day.month, day.day) + timedelta(seconds=float(seconds))
    return int(wall.replace(tzinfo=zone_info(zone)).timestamp())


def utc_offset(zone: str | None, utc_seconds: int) -> int:
    """The zone's UTC offset in seconds at that instant."""
    moment = datetime.fromtimestamp(int(utc_seconds), tz=zone_info(zone))
    return int(moment.utcoffset().total_seconds())


def build_population(
    calendar: Calendar, accounts: int, target_events: int, rng: np.random.Generator, seed: int
) -> Population:
    if accounts < MIN_ACCOUNTS:
        raise ValueError(f"accounts must be at least {MIN_ACCOUNTS}, one in every employee band")
    if accounts < EXACT_ACCOUNTS:
        warnings.warn(
            f"with fewer than {EXACT_ACCOUNTS} accounts, the 201-1000 band also has fewer "
            f"than {MIN_COHORT} accounts, so its benchmarks are anonymised too",
            stacklevel=3,
        )
    fake = Faker(sorted(set(FAKER_LOCALES.values())))
    fake.seed_instance(seed)
    band = _bands(accounts)
    created_day = _account_created_days(band, calendar, rng)
    country = _countries(accounts, rng)
    account_rows = _accounts(band, country, created_day, calendar, rng, fake)
    density = target_events / (accounts * len(calendar.days))
    users = _users(account_rows, created_day, calendar, _user_scale(density), rng, fake)
    seats = np.bincount(users.account, minlength=accounts)
    is_free = np.array([plan == "free" for plan in account_rows.plan])
    seats = seats + np.where(is_free, 0, rng.integers(0, 4, accounts))
    return Population(calendar, replace(account_rows, seats=seats), users)


def _user_scale(events_per_account_day: float) -> float:
    """More users for denser data, so a 10M-event run is not 50 people clicking all day."""
    return float(np.clip(np.sqrt(events_per_account_day / 18.0), 0.1, 10.0))


def _bands(accounts: int) -> np.ndarray:
    """Account count of each band: 3 in 1001+, 5 in each other one, the rest spread out."""
    others = accounts - LARGEST_BAND_ACCOUNTS
    counts = [min(MIN_COHORT, others - MIN_COHORT * b) for b in range(len(BAND_SHARES))]
    extra = others - sum(counts)
    counts = [count + int(extra * share) for count, share in zip(counts, BAND_SHARES, strict=True)]
    counts[1] += others - sum(counts)  # rounding leftovers
    counts.append(LARGEST_BAND_ACCOUNTS)
    return np.repeat(np.arange(len(BANDS)), counts)


def _account_created_days(
    band: np.ndarray, calendar: Calendar, rng: np.random.Generator
) -> np.ndarray:
    """Simulated day each account was created on, or NOT_CREATED if before the window.

    New accounts are taken only beyond the first 5 of a band, so each published cohort
    has at least 5 members from the window's first month on.
    """
    n_days = len(calendar.days)
    first, last = min(5, n_days // 4), max(min(5, n_days // 4) + 1, n_days - 8)
    created = np.full(len(band), NOT_CREATED)
    for b, share in enumerate(NEW_ACCOUNT_SHARES):
        members = np.flatnonzero(band == b)
        n_new = min(len(members) - MIN_COHORT, round(len(members) * share))
        if n_new > 0:
            chosen = rng.choice(members, n_new, replace=False)
            created[chosen] = rng.integers(first, last, n_new)
    return created


def _countries(accounts: int, rng: np.random.Generator) -> list[str]:
    codes = list(COUNTRIES)
    weights = np.array([COUNTRIES[code].weight for code in codes])
    country = list(rng.choice(codes, accounts, p=weights / weights.sum()))
    for position, code in zip(rng.permutation(accounts), REQUIRED_COUNTRIES, strict=False):
        country[position] = code
    return [str(code) for code in country]


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    probabilities = np.array(list(weights.values()))
    return keys[rng.choice(len(keys), p=probabilities / probabilities.sum())]


def _accounts(
    band: np.ndarray,
    country: list[str],
    created_day: np.ndarray,
    calendar: Calendar,
    rng: np.random.Generator,
    fake: Faker,
) -> Accounts:
    n = len(band)
    zones = [next(iter(COUNTRIES[code].zones)) for code in country]
    created = np.empty(n, dtype=np.int64)
    for i in range(n):
        if created_day[i] == NOT_CREATED:
            # Past onboarding, yet recent enough that each user's daily history (which starts
            # on the day the user was created) stays a few months long.
            day = calendar.start - timedelta(days=int(rng.integers(30, 120)))
            created[i] = local_to_utc(zones[i], day, rng.uniform(9, 17) * 3600)
        else:
            # Just before the admin signs up and starts onboarding (see `_users`).
            created[i] = local_to_utc(zones[i], calendar.days[created_day[i]], 7 * 3600)
    low, high = np.array(BANDS).T
    employees = np.exp(rng.uniform(np.log(low[band]), np.log(high[band] + 1))).astype(int)
    return Accounts(
        account_id=[f"acc_{i + 1:04d}" for i in range(n)],
        name=[fake[COMPANY_LOCALES.get(code, "en_US")].company() for code in country],
        industry=[str(rng.choice(INDUSTRIES)) for _ in range(n)],
        employee_count=employees,
        plan=[_pick(rng, PLANS_BY_BAND[b]) for b in band],
        seats=np.zeros(n, dtype=int),
        created_utc=created,
        country=country,
        zone=zones,
        band=band,
    )


def _users(
    accounts: Accounts,
    account_created_day: np.ndarray,
    calendar: Calendar,
    scale: float,
    rng: np.random.Generator,
    fake: Faker,
) -> Users:
    rows: list[dict] = []
    n_days = len(calendar.days)
    for a, b in enumerate(accounts.band):
        low, high = USERS_PER_ACCOUNT[b]
        size = max(1, round(rng.integers(low, high + 1) * scale))
        if account_created_day[a] != NOT_CREATED:
            n_newcomers = size
        elif rng.random() < EXPANDING_SHARE:  # adds people on top of the current team
            n_newcomers = max(1, round(size * 0.3))
            size += n_newcomers
        else:
            n_newcomers = 0
        admin = len(rows)
        for k in range(size):
            row = _user_identity(accounts, a, is_admin=k == 0, rng=rng)
            is_newcomer = k >= size - n_newcomers
            if is_newcomer:
                row["created_day"] = _newcomer_day(
                    account_created_day[a], is_admin=k == 0, n_days=n_days, rng=rng
                )
                row["inviter"] = -1 if k == 0 else admin
            else:
                row["created_day"], row["inviter"] = NOT_CREATED, -1
            rows.append(row)
    _force_personas(rows, rng)
    _break_some_zones(rows, rng)
    return _finish_users(rows, accounts, calendar, rng, fake)


def _user_identity(accounts: Accounts, a: int, *, is_admin: bool, rng: np.random.Generator) -> dict:
    country = COUNTRIES[accounts.country[a]]
    if is_admin:  # the head office: the country's main locale and zone
        locale, zone = next(iter(country.locales)), accounts.zone[a]
    else:
        locale, zone = _pick(rng, country.locales), _pick(rng, country.zones)
        if rng.random() < REMOTE_SHARE:
            zone = str(rng.choice(REMOTE_ZONES))
    shares = ADMIN_PERSONA_SHARES if is_admin else PERSONA_SHARES
    persona = int(rng.choice(len(PERSONAS), p=shares))
    return {
        "account": a,
        "locale": locale,
        "timezone": zone,
        "role": "admin" if is_admin else _pick(rng, ROLES),
        "persona": persona,
        "weekend_worker": bool(rng.random() < WEEKEND_WORKER_SHARES[persona]),
        "uses_automation": bool(rng.random() < AUTOMATION_SHARES[persona]),
    }


def _newcomer_day(
    account_day: int, *, is_admin: bool, n_days: int, rng: np.random.Generator
) -> int:
    if is_admin and account_day != NOT_CREATED:
        return int(account_day)
    if account_day != NOT_CREATED:  # invited by the admin in the following weeks
        return int(min(n_days - 2, account_day + 1 + rng.geometric(0.12)))
    return int(rng.integers(min(3, n_days // 4), max(4, n_days - 3)))


def _force_personas(rows: list[dict], rng: np.random.Generator) -> None:
    """Every persona shows up at least once among the users who are there all window."""
    veterans = [row for row in rows if row["created_day"] == NOT_CREATED]
    for row, persona in zip(rng.permutation(len(veterans)), range(len(PERSONAS)), strict=False):
        veterans[row]["persona"] = persona
        veterans[row]["weekend_worker"] = persona == HABITUAL
        veterans[row]["uses_automation"] = persona == POWER


def _break_some_zones(rows: list[dict], rng: np.random.Generator) -> None:
    members = [i for i, row in enumerate(rows) if row["role"] != "admin"]
    count = max(len(BROKEN_ZONES), round(len(rows) * BROKEN_ZONE_SHARE))
    for k, i in enumerate(rng.choice(members, min(count, len(members)), replace=False)):
        rows[i]["timezone"] = BROKEN_ZONES[k % len(BROKEN_ZONES)]


def _finish_users(
    rows: list[dict],
    accounts: Accounts,
    calendar: Calendar,
    rng: np.random.Generator,
    fake: Faker,
) -> Users:
    n = len(rows)
    emails: set[str] = set()
    first_names, email, created = [], [], np.empty(n, dtype=np.int64)
    steps = np.zeros(n, dtype=int)
    for i, row in enumerate(rows):
        name = fake[FAKER_LOCALES[row["locale"]]].first_name()
        first_names.append(name)
        email.append(_email(name, accounts.name[row["account"]], row["account"], i, emails))
        created[i] = _user_created(row, accounts, calendar, rng)
        if row["created_day"] != NOT_CREATED:
            stalls = rng.random() < STALL_SHARE
            steps[i] = rng.integers(1, ONBOARDING_STEPS) if stalls else ONBOARDING_STEPS

    def column(key: str) -> np.ndarray:
        return np.array([row[key] for row in rows])

    return Users(
        user_id=[f"usr_{i + 1:06d}" for i in range(n)],
        account=column("account"),
        email=email,
        first_name=first_names,
        locale=[row["locale"] for row in rows],
        timezone=[row["timezone"] for row in rows],
        role=[row["role"] for row in rows],
        created_utc=created,
        created_day=column("created_day"),
        persona=column("persona"),
        weekend_worker=column("weekend_worker"),
        uses_automation=column("uses_automation"),
        onboarding_steps=steps,
        connects_crm=(steps >= 3) & (rng.random(n) < CRM_SHARE),
        inviter=column("inviter"),
    )


def _user_created(
    row: dict, accounts: Accounts, calendar: Calendar, rng: np.random.Generator
) -> int:
    if row["created_day"] != NOT_CREATED:
        # Before 07:30 local, the earliest a session can start, so before every event.
        day = calendar.days[row["created_day"]]
        return local_to_utc(row["timezone"], day, 7 * 3600 + rng.uniform(60, 1500))
    account_created = int(accounts.created_utc[row["account"]])
    if row["role"] == "admin":
        return account_created + int(rng.integers(60, 900))
    latest = epoch(calendar.start) - 86_400
    return int(rng.integers(account_created + 3600, max(account_created + 7200, latest)))


def _email(first_name: str, company: str, account: int, index: int, taken: set[str]) -> str:
    """A unique address on a reserved domain (RFC 2606), e.g. gregoire@dupont-sa.example.org."""
    local = _slug(first_name, ".") or "user"
    domain = f"{_slug(company, '-') or 'company'}.example.{('com', 'org', 'net')[account % 3]}"
    address = f"{local}@{domain}"
    if address in taken:
        address = f"{local}.{index + 1}@{domain}"
    taken.add(address)
    return address


def _slug(text: str, separator: str) -> str:
    return re.sub(r"[^a-z0-9]+", separator, unidecode(text).lower()).strip(separator)[:30]
