"""The demo data generator: deterministic, lifelike, and exact about the bad rows it plants."""

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from orchestration.demo_data import GenerationSummary, generate
from orchestration.ingestion.contract import RAW_TABLES, event_types

SMALL = {
    "accounts": 25,
    "days": 30,
    "end_date": date(2026, 3, 31),
    "target_events": 20_000,
    "email_history": True,
    "progress": False,
}
VOCABULARY = tuple(event_types())  # seed event_types
REASONS = {
    "events": {
        "missing_id",
        "duplicate_id",
        "invalid_timestamp",
        "future_timestamp",
        "unknown_event_name",
        "invalid_json",
        "unknown_user",
        "unknown_account",
        "account_mismatch",
    },
    "users": {
        "missing_id",
        "duplicate_id",
        "invalid_timestamp",
        "invalid_email",
        "unknown_account",
    },
    "accounts": {"missing_id", "duplicate_id", "invalid_timestamp", "invalid_value"},
    "unsubscribes": {"invalid_email", "invalid_timestamp"},
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, seed=7, **SMALL)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("dirty")
    return out, generate(out, seed=7, dirty=True, **SMALL)


def connect(raw: Path, file_format: str = "parquet") -> duckdb.DuckDBPyConnection:
    """One view per table, each row with its file name and position, as the loader sees it."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in RAW_TABLES:
        if not (raw / table).is_dir():
            continue
        pattern = f"'{raw / table}/*.{file_format}'"
        source = (
            f"read_parquet({pattern}, filename = true, file_row_number = true)"
            if file_format == "parquet"
            else f"read_csv({pattern}, all_varchar = true, filename = true)"
        )
        con.execute(f"create view {table} as select * from {source}")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_seed_writes_identical_bytes(clean, tmp_path):
    out, _ = clean
    generate(tmp_path, seed=7, **SMALL)
    assert hashes(tmp_path) == hashes(out)


def test_another_seed_writes_other_data(clean, tmp_path):
    out, _ = clean
    generate(tmp_path, seed=8, **SMALL)
    before, after = hashes(out), hashes(tmp_path)
    for table in ("accounts/accounts.parquet", "users/users.parquet", "events/2026-03-15.parquet"):
        assert before[table] != after[table]


def test_layout_follows_the_raw_contract(clean):
    out, summary = clean
    assert summary.start == date(2026, 3, 2) and summary.end == date(2026, 3, 31)
    day_files = sorted(path.name for path in (out / "events").iterdir())
    assert day_files == [f"{summary.start + timedelta(days=i)}.parquet" for i in range(30)]
    con = connect(out)
    for table, contract in RAW_TABLES.items():
        columns = con.execute(f"describe {table}").fetchall()
        data_columns = [
            (name, kind)
            for name, kind, *_ in columns
            if name not in ("filename", "file_row_number")
        ]
        assert data_columns == [(name, "VARCHAR") for name in contract.all_columns]
        assert scalar(con, f"select count(*) from {table}") == summary.rows[table]
    assert not (out / "_dirty_manifest.json").exists()


def test_event_count_is_near_the_target(clean):
    _, summary = clean
    assert 0.85 * 20_000 <= summary.rows["events"] <= 1.15 * 20_000


def test_csv_holds_the_same_rows_as_parquet(clean, tmp_path):
    out, _ = clean
    generate(tmp_path, seed=7, file_format="csv", **SMALL)
    assert (
        (tmp_path / "events" / "2026-03-31.csv")
        .read_text()
        .startswith('"event_id","user_id","account_id","event_name","occurred_at","properties"\n')
    )
    parquet, csv = connect(out), connect(tmp_path, "csv")
    for table, contract in RAW_TABLES.items():
        # CSV cannot tell null from an empty string: compare them as equal.
        columns = ", ".join(f"coalesce(\"{column}\", '')" for column in contract.all_columns)
        rows = [
            con.execute(f"select {columns} from {table} order by all").fetchall()
            for con in (parquet, csv)
        ]
        assert rows[0] == rows[1]


def test_one_band_is_too_small_to_benchmark(clean):
    con = connect(clean[0])
    bands = con.execute(
        """
        select case when n <= 10 then '1-10' when n <= 50 then '11-50' when n <= 200 then '51-200'
                    when n <= 1000 then '201-1000' else '1001+' end as band, count(*)
        from (select cast(employee_count as integer) as n from accounts)
        group by band
        """
    ).fetchall()
    sizes = dict(bands)
    assert len(sizes) == 5
    assert [band for band, size in sizes.items() if size < 5] == ["1001+"]


def test_locales_and_time_zones_cover_the_edge_cases(clean):
    con = connect(clean[0])
    locales = {row[0] for row in con.execute("select distinct locale from users").fetchall()}
    assert {"en", "fr", "ru", "fr-CA"} <= locales
    assert locales - {"en", "fr", "ru", "fr-CA"}  # unknown ones, which fall back to en
    zones = {row[0] for row in con.execute("select distinct timezone from users").fetchall()}
    assert None in zones or "Mars/Olympus" in zones
    valid = [
        ZoneInfo(zone) for zone in zones if zone and zone not in ("Mars/Olympus", "Europe/Atlantis")
    ]
    january, july = datetime(2026, 1, 15), datetime(2026, 7, 15)
    assert any(zone.utcoffset(january) > timedelta(hours=10) for zone in valid)
    assert any(zone.utcoffset(january) != zone.utcoffset(july) for zone in valid)


def test_timestamps_parse_and_come_in_every_allowed_style(clean):
    con = connect(clean[0])
    for table, column in (
        ("events", "occurred_at"),
        ("users", "created_at"),
        ("accounts", "created_at"),
    ):
        assert (
            scalar(
                con, f"select count(*) from {table} where try_cast({column} as timestamptz) is null"
            )
            == 0
        )
    styles = con.execute(
        """
        select distinct case when occurred_at like '%Z' then 'z'
                             when occurred_at like '% %' then 'naive' else 'offset' end
        from events
        """
    ).fetchall()
    assert {row[0] for row in styles} == {"z", "naive", "offset"}
    assert scalar(con, "select count(*) from events where properties is null") > 0
    assert scalar(con, "select count(*) from events where properties = ''") > 0
    assert (
        scalar(con, "select count(*) from events where event_name not in " + str(VOCABULARY)) == 0
    )


def test_every_event_type_of_the_vocabulary_is_produced(clean):
    con = connect(clean[0])
    produced = {row[0] for row in con.execute("select distinct event_name from events").fetchall()}
    assert produced == set(VOCABULARY)


def test_every_active_local_day_starts_with_a_session(clean):
    con = connect(clean[0])
    missing = scalar(
        con,
        """
        with zoned as (
            select e.user_id, e.event_name, e.occurred_at,
                   case when u.timezone in (select name from pg_timezone_names())
                        then u.timezone else 'UTC' end as zone,
                   try_cast(u.created_at as timestamptz) as user_created_at
            from events e join users u using (user_id)
        ),
        days as (
            select user_id, cast(timezone(zone, cast(occurred_at as timestamptz)) as date) as day,
                   count(*) filter (where event_name = 'session_started') as sessions,
                   min(cast(occurred_at as timestamptz)) as first_event,
                   any_value(user_created_at) as user_created_at
            from zoned group by all
        )
        select count(*) from days where sessions = 0 or first_event < user_created_at
        """,
    )
    assert missing == 0


def test_personas_show_up(clean):
    con = connect(clean[0])
    con.execute(
        """
        create table active_days as
        select distinct user_id, cast(cast(occurred_at as timestamptz) as date) as day from events
        """
    )
    longest_streak = scalar(
        con,
        """
        select max(days) from (
            select count(*) as days from (
                select user_id, day - cast(row_number() over by_day as integer) as run
                from active_days
                window by_day as (partition by user_id order by day)
            ) group by user_id, run
        )
        """,
    )
    assert longest_streak >= 14
    comebacks = scalar(
        con,
        """
        select count(*) from (
            select day - lag(day) over (partition by user_id order by day) as gap from active_days
        ) where gap > 10
        """,
    )
    assert comebacks > 0
    automation = con.execute(
        """
        select min(cast(json_extract(properties, '$.minutes_saved') as double)), count(*)
        from events where event_name = 'automation_run'
        """
    ).fetchone()
    assert automation[0] > 0 and automation[1] > 0
    steps = con.execute(
        "select distinct properties from events where event_name = 'onboarding_step_completed'"
    ).fetchall()
    assert {row[0] for row in steps} == {f'{{"step": {step}}}' for step in range(1, 6)}
    for event_name, properties in (
        ("integration_connected", '{"integration": "crm"}'),
        ("workflow_completed", '{"bulk": true, "automated": true}'),
        ("seat_added", None),
        ("invite_sent", None),
        ("bulk_action_used", None),
        ("schedule_created", None),
        ("feature_enabled", None),
    ):
        condition = "true" if properties is None else f"properties = '{properties}'"
        assert (
            scalar(
                con,
                f"select count(*) from events where event_name = '{event_name}' and {condition}",
            )
            > 0
        )


def test_email_history_events_name_its_sends(tmp_path):
    """The webhook's events belong to the sends of the ledger rows, and nothing is sent to
    the holdout (dim_users' hash, as DuckDB computes it; 60 accounts hold some out)."""
    summary = generate(tmp_path, **(SMALL | {"accounts": 60, "target_events": 10_000}))
    con = connect(tmp_path)
    ledger = {row.send_key: row.provider_message_id for row in summary.sends}
    assert len(ledger) == len(summary.sends) > 0
    assert {row.trigger_type for row in summary.sends} == {"inactive_nudge", "weekly_report"}
    assert {(row.backend, row.status) for row in summary.sends} == {("demo", "accepted")}
    messages = con.execute(
        "select distinct send_key, split_part(sg_message_id, '.', 1) from email_events "
        "where send_key is not null"
    ).fetchall()
    assert messages and all(ledger[key] == message for key, message in messages)
    held_out = {
        user_id
        for (user_id,) in con.execute(
            "select user_id from users where cast('0x' || substr(md5('flywheel:' || account_id), "
            "1, 8) as bigint) % 100 < 10"
        ).fetchall()
    }
    assert held_out
    assert not {key.split(":")[0] for key in ledger} & held_out
    kinds = {row[0] for row in con.execute("select distinct event from email_events").fetchall()}
    assert {"delivered", "open", "click"} <= kinds
    assert scalar(con, "select count(*) - count(distinct sg_event_id) from email_events") == 0
    assert (
        scalar(
            con, "select count(*) from email_events where email not in (select email from users)"
        )
        == 0
    )
    assert (
        scalar(con, "select count(*) from email_events where try_cast(timestamp as bigint) is null")
        == 0
    )


# The pipeline's quarantine rules, in their order: the first matching rule names the reason.
CLASSIFY = {
    "accounts": """
        case when coalesce(account_id, '') = '' then 'missing_id'
             when row_number() over (partition by account_id order by filename, file_row_number) > 1
                then 'duplicate_id'
             when try_cast(created_at as timestamptz) is null then 'invalid_timestamp'
             when try_cast(employee_count as ubigint) is null then 'invalid_value'
        end""",
    "users": """
        case when coalesce(user_id, '') = '' or coalesce(account_id, '') = '' then 'missing_id'
             when row_number() over (partition by user_id order by filename, file_row_number) > 1
                then 'duplicate_id'
             when try_cast(created_at as timestamptz) is null then 'invalid_timestamp'
             when not regexp_full_match(email, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') then 'invalid_email'
             when account_id not in (select account_id from good_accounts) then 'unknown_account'
        end""",
    "events": f"""
        case when coalesce(event_id, '') = '' or coalesce(user_id, '') = ''
                  or coalesce(account_id, '') = '' then 'missing_id'
             when row_number() over (partition by event_id order by filename, file_row_number) > 1
                then 'duplicate_id'
             when try_cast(occurred_at as timestamptz) is null then 'invalid_timestamp'
             when try_cast(occurred_at as timestamptz) > now() then 'future_timestamp'
             when event_name not in {VOCABULARY} then 'unknown_event_name'
             when coalesce(properties, '') <> '' and (not coalesce(json_valid(properties), false)
                  or json_type(properties) <> 'OBJECT') then 'invalid_json'
             when user_id not in (select user_id from good_users) then 'unknown_user'
             when account_id not in (select account_id from good_accounts) then 'unknown_account'
             when (user_id, account_id) not in (select (user_id, account_id) from good_users)
                then 'account_mismatch'
        end""",
    "unsubscribes": """
        case when not regexp_full_match(email, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+') then 'invalid_email'
             when try_cast(unsubscribed_at as timestamptz) is null then 'invalid_timestamp'
        end""",
}


def quarantine(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    reasons = {}
    for table in ("accounts", "users", "events", "unsubscribes"):
        con.execute(
            f"create table classified_{table} as select *, {CLASSIFY[table]} as reason from {table}"
        )
        if table in ("accounts", "users"):
            con.execute(
                f"create view good_{table} as select * from classified_{table} where reason is null"
            )
        counts = con.execute(
            f"select reason, count(*) from classified_{table} where reason is not null group by 1"
        ).fetchall()
        reasons[table] = dict(counts)
    return reasons


def test_dirty_manifest_lists_every_planted_row(dirty):
    out, summary = dirty
    manifest = json.loads((out / "_dirty_manifest.json").read_text())["tables"]
    for table, reasons in REASONS.items():
        assert set(manifest[table]["planted"]) == reasons
        assert all(3 <= count <= 20 for count in manifest[table]["planted"].values())
        assert manifest[table] == {"rows": summary.rows[table], "planted": summary.planted[table]}
    con = connect(out)
    for table in REASONS:
        assert scalar(con, f"select count(*) from {table}") == manifest[table]["rows"]
    assert quarantine(con) == {table: manifest[table]["planted"] for table in REASONS}
    teleports = scalar(
        con, "select count(*) from events where event_name not in " + str(VOCABULARY)
    )
    assert teleports == manifest["events"]["planted"]["unknown_event_name"]


def test_dirty_only_adds_rows(clean, dirty):
    """Same seed with and without bad rows: every good row is still there, unchanged."""
    con = connect(dirty[0])
    good = connect(clean[0])
    for table, contract in RAW_TABLES.items():
        columns = ", ".join(f'"{column}"' for column in contract.all_columns)
        clean_rows = good.execute(f"select {columns} from {table}").fetchall()
        dirty_rows = con.execute(f"select {columns} from {table}").fetchall()
        assert not set(clean_rows) - set(dirty_rows)
        planted = sum(dirty[1].planted.get(table, {}).values())
        assert len(dirty_rows) - len(clean_rows) == planted


def test_dirty_bad_users_and_accounts_own_no_events(dirty):
    con = connect(dirty[0])
    quarantine(con)
    owned = scalar(
        con,
        """
        select count(*) from events
        where user_id in (select user_id from classified_users
                          where reason <> 'duplicate_id' and user_id <> '')
           or account_id in (select account_id from classified_accounts
                             where reason <> 'duplicate_id' and account_id <> '')
        """,
    )
    assert owned == 0


def test_twenty_accounts_still_cover_every_band(tmp_path):
    with pytest.warns(UserWarning, match="201-1000 band also has fewer than 5"):
        summary = generate(tmp_path, accounts=20, days=14, target_events=3_000, progress=False)
    assert summary.rows["accounts"] == 20
    con = connect(tmp_path)
    large = "select count(*) from accounts where cast(employee_count as integer) > 1000"
    assert scalar(con, large) == 3


def test_too_few_accounts_for_the_bands_is_refused(tmp_path):
    with pytest.raises(ValueError, match="accounts must be at least 19"):
        generate(tmp_path, accounts=18, days=30, target_events=1_000, progress=False)
