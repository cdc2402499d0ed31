"""One measured step, run as `python -m benchmarks.worker TASK JSON-ARGS` in a fresh process
(the settings are read once per process from its environment). Prints one JSON line."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any


def floor_sql(raw_dir: Path) -> str:
    """(a): read the raw event files once, type them and count each user's local day."""
    from orchestration.ingestion.contract import event_types

    counts = ",\n".join(
        f"    count(*) filter (where events.event_name = '{name}') as {column}"
        for name, column in event_types().items()
    )
    return f"""
create table user_activity_daily as
with events as (
    select
        user_id,
        event_name,
        try_cast(occurred_at as timestamptz) as occurred_at,
        case when json_valid(properties) then
            try_cast(json_extract_string(properties, '$.minutes_saved') as double)
        end as minutes_saved
    from read_parquet('{raw_dir}/events/*.parquet')
),
users as (
    -- an unknown time zone falls back to UTC, as in staging
    select raw_users.user_id, coalesce(zones.name, 'UTC') as timezone
    from read_parquet('{raw_dir}/users/*.parquet') as raw_users
    left join pg_timezone_names() as zones on raw_users.timezone = zones.name
)
select
    events.user_id,
    cast(timezone(users.timezone, events.occurred_at) as date) as activity_date,
{counts},
    count(*) as event_count,
    coalesce(sum(events.minutes_saved), 0) as minutes_saved
from events
inner join users on events.user_id = users.user_id
where events.occurred_at is not null
group by all
"""


def run_floor(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    database = Path(args["database"])
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    con.execute(
        f"set memory_limit = '{args['memory_limit']}'; set threads = {args['threads']}; "
        "set TimeZone = 'UTC'"
    )
    sql = floor_sql(Path(args["raw_dir"]))
    start = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - start
    rows = con.execute("select count(*) from user_activity_daily").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rows": rows}


def seconds_since_process_start() -> float:
    """How long this process has run (Linux: /proc), interpreter start-up included."""
    started_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - started_ticks / os.sysconf("SC_CLK_TCK")


def run_pipeline(args: dict[str, Any]) -> dict[str, Any]:
    """(b) or (c): `flywheel run --as-of DAY` without sending, as the CLI does it. Start-up
    counts from the process's start: the interpreter, every import (Dagster's too) and the
    manifest check or dbt parse."""
    import dagster as dg

    from orchestration.dbt.project import prepare_manifest

    prepare_manifest()
    from orchestration.runner import run_daily

    startup = seconds_since_process_start()
    ready = time.perf_counter()
    result = run_daily(date.fromisoformat(args["as_of"]), send=False, raise_on_error=True)
    done = time.perf_counter()
    steps: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    return {
        "success": result.success,
        "startup_seconds": startup,
        "job_seconds": done - ready,
        "steps": steps,
        "maxrss_self_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "maxrss_children_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


def _payload_rows(warehouse: str, limit: int) -> tuple[list[str], list[tuple]]:
    """A fixed sample of payload rows: every trigger type and locale, in send_key order."""
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as con:
        cursor = con.execute(
            "select * from email.rpt_email_payloads order by hash(send_key), send_key limit ?",
            [limit],
        )
        return [column[0] for column in cursor.description], cursor.fetchall()


def run_render(args: dict[str, Any]) -> dict[str, Any]:
    """(e): render payload rows on one core."""
    from collections import Counter

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from orchestration.emails.render import get_renderer, render_email
    from orchestration.settings import Settings

    settings = Settings()
    columns, rows = _payload_rows(args["warehouse"], args["messages"])
    payloads = [dict(zip(columns, row, strict=True)) for row in rows]
    start = time.perf_counter()
    get_renderer()
    compiled = time.perf_counter()
    emails = [render_email(payload, settings) for payload in payloads]
    done = time.perf_counter()
    return {
        "messages": len(emails),
        "compile_seconds": compiled - start,
        "seconds": done - compiled,
        "per_second": len(emails) / (done - compiled),
        "by_trigger_type": dict(Counter(email.trigger_type for email in emails)),
        "by_locale": dict(Counter(email.locale for email in emails)),
        "cpus": sorted(os.sched_getaffinity(0)),
    }


def serve_sendgrid(args: dict[str, Any]) -> None:
    """The loopback SendGrid-compatible server of the tests (SendGrid's limits on), in its own
    process, with `fault_rate` faults: prints its host, then serves until stdin closes, then
    prints what it received."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.sendgrid_server import FakeSendGrid

    with FakeSendGrid(
        args["api_key"],
        max_messages=args["messages"] * 3 + 1_000,
        fault_rate=args.get("fault_rate", 0.0),
        seed=args.get("seed", 0),
        # an injected 429 resets at once: the faults measure the sender, not a wait
        rate_limit_reset_after=0,
    ) as server:
        print(json.dumps({"host": server.host}), flush=True)
        sys.stdin.read()
        delivered = server.delivered_per_send_key()
        print(
            json.dumps(
                {
                    "delivered": len(delivered),
                    "max_per_key": max(delivered.values(), default=0),
                    "requests": server.request_count(),
                    "batch_requests": server.request_count("/v3/mail/batch"),
                    "faults": dict(Counter(r.fault for r in server.requests if r.fault)),
                }
            ),
            flush=True,
        )


def _rendered(args: dict[str, Any], settings: Any) -> list:
    """`messages` rendered e-mails: payload rows of a warehouse's `email.rpt_email_payloads`
    (`warehouse`), or the preview's sample payloads, each with its own send_key and address."""
    from orchestration.emails.preview import sample_payloads
    from orchestration.emails.render import render_email

    if args.get("warehouse"):
        columns, rows = _payload_rows(args["warehouse"], args["messages"])
        payloads = [dict(zip(columns, row, strict=True)) for row in rows]
    else:
        samples = [payload for _, _, payload in sample_payloads()]
        locales = ("en", "fr", "ru")
        payloads = [
            samples[i % len(samples)]
            | {
                "send_key": f"bench:{i}",
                "email": f"reader{i}@example.com",
                "locale": locales[i % len(locales)],
            }
            for i in range(args["messages"])
        ]
    return [render_email(payload, settings) for payload in payloads]


def run_send(args: dict[str, Any]) -> dict[str, Any]:
    """(f): render `messages` payloads, then send them through the real sending path: the
    send ledger in a fresh DuckDB file and the SendGrid backend from the settings."""
    import duckdb

    from orchestration.emails.sending import backend_from_settings
    from orchestration.emails.sending.ledger import ensure_send_ledger
    from orchestration.emails.sending.sender import send_emails
    from orchestration.settings import Settings

    settings = Settings()
    emails = _rendered(args, settings)
    ledger_db = Path(args["ledger"])
    ledger_db.unlink(missing_ok=True)
    backend = backend_from_settings(settings)
    with duckdb.connect(str(ledger_db)) as con:
        ensure_send_ledger(con)
        start = time.perf_counter()
        report = send_emails(con, emails, backend, max_workers=args.get("workers", 8))
        seconds = time.perf_counter() - start
        statuses = dict(
            con.execute("select status, count(*) from email.send_ledger group by 1").fetchall()
        )
    return {
        "messages": len(emails),
        "accepted": report.accepted,
        "in_doubt": report.in_doubt,
        "failed": report.failed,
        "not_sent": report.not_sent,
        "resent_after_cancel": report.resent_after_cancel,
        "cancelled_batches": report.cancelled_batches,
        "seconds": seconds,
        "per_second": report.accepted / seconds,
        "ledger": statuses,
    }


TASKS = {
    "floor": run_floor,
    "pipeline": run_pipeline,
    "render": run_render,
    "send": run_send,
}


def main() -> None:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    if task == "sendgrid-server":
        serve_sendgrid(args)
        return
    result = TASKS[task](args)
    print("BENCHMARK-RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
