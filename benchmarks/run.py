"""`python -m benchmarks.run`: measure (a) to (f) and the daily run against history length
(see `benchmarks/__init__.py`), write `benchmarks/results.json`, `docs/benchmarks.md` and
`docs/benchmarks.png`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.data import (
    CURVE_DAYS,
    DATA_SETS,
    WORK_DIR,
    DataSet,
    ensure_data,
    history_data_set,
    history_day,
    link_raw_dir,
)
from benchmarks.memory import PeakSampler
from benchmarks.sending import measure_all

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "benchmarks" / "results.json"
# DuckDB's memory limit for every measured step, and its threads (the machine's cores).
MEMORY_LIMIT = "3GB"
THREADS = 2
RENDER_MESSAGES = 5_000
SEND_MESSAGES = 5_000


def _environment(run_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLYWHEEL_", "SENDGRID_", "DBT_"))
    }
    dagster_home = run_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    env.update(
        FLYWHEEL_RAW_DIR=str(run_dir / "raw"),
        FLYWHEEL_WAREHOUSE=str(run_dir / "flywheel.duckdb"),
        FLYWHEEL_OUTBOX_DIR=str(run_dir / "outbox"),
        FLYWHEEL_EMAIL_BACKEND="outbox",
        FLYWHEEL_DUCKDB_MEMORY_LIMIT=MEMORY_LIMIT,
        DBT_TARGET="duckdb",
        DAGSTER_HOME=str(dagster_home),
        DO_NOT_TRACK="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


def _worker(task: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one measured step in a fresh process; wall time and peak tree memory included."""
    command = [sys.executable, "-m", "benchmarks.worker", task, json.dumps(args)]
    log = WORK_DIR / "logs" / f"{task}-{int(time.time() * 1000)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=output, text=True
        )
        with PeakSampler(process.pid) as sampler:
            stdout, _ = process.communicate()
    wall = time.perf_counter() - start
    results = [line for line in stdout.splitlines() if line.startswith("BENCHMARK-RESULT ")]
    if process.returncode != 0 or not results:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise RuntimeError(f"{task} failed (exit {process.returncode}); log {log}:\n{tail}")
    result = json.loads(results[-1].removeprefix("BENCHMARK-RESULT "))
    return {**result, "wall_seconds": wall, "peak_tree_rss_bytes": sampler.peak}


def _say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def measure_data_set(data_set: DataSet) -> dict[str, Any]:
    generated = ensure_data(data_set)
    how = "cached" if generated.cached else f"generated in {generated.seconds:.0f}s"
    _say(f"{data_set.name}: {generated.rows['events']:,} events ({how})")
    run_dir = WORK_DIR / "runs" / data_set.name
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "raw").mkdir(parents=True)
    env = _environment(run_dir)
    history = history_day(data_set)

    floor = _worker(
        "floor",
        {
            "raw_dir": str(generated.path),
            "database": str(run_dir / "floor.duckdb"),
            "memory_limit": MEMORY_LIMIT,
            "threads": THREADS,
        },
        env,
    )
    _say(f"{data_set.name}: (a) floor {floor['seconds']:.1f}s")

    link_raw_dir(generated.path, run_dir / "raw", until=history)
    full = _worker("pipeline", {"as_of": history.isoformat()}, env)
    _say(f"{data_set.name}: (b) full pipeline {full['wall_seconds']:.1f}s")

    link_raw_dir(generated.path, run_dir / "raw", until=data_set.end_date)
    incremental = _worker("pipeline", {"as_of": data_set.end_date.isoformat()}, env)
    _say(f"{data_set.name}: (c) one more day {incremental['wall_seconds']:.1f}s")

    return {
        "data_set": data_set.params(),
        "rows": generated.rows,
        "generation_seconds": generated.seconds,
        "generation_cached": generated.cached,
        "generation_seconds_when_made": generated.cached_seconds,
        "floor": floor,
        "full": full,
        "incremental": incremental,
        "warehouse_bytes": (run_dir / "flywheel.duckdb").stat().st_size,
        "full_over_floor": full["wall_seconds"] / floor["seconds"],
        "incremental_over_full": incremental["wall_seconds"] / full["wall_seconds"],
        "peak_rss_bytes": max(full["peak_tree_rss_bytes"], incremental["peak_tree_rss_bytes"]),
    }


def measure_curve(
    days: list[int], accounts: int | None, measured: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """(a), (b) and (c) for each length of history at the same daily volume: the daily run (c)
    should cost the same after 30 days as after a year. A data set already in `measured` (the
    1m data set is the 180-day point) is not measured twice."""
    points = []
    for length in sorted(set(days)):
        data_set = history_data_set(length, accounts)
        if data_set.name in measured:
            _say(f"{length} days of history: the {data_set.name} data set, measured above")
            result = measured[data_set.name]
        else:
            result = measure_data_set(data_set)
        points.append({"days": length, "data_set_name": data_set.name, **result})
    daily = [point["incremental"]["wall_seconds"] for point in points]
    return {
        "accounts": points[0]["data_set"]["accounts"],
        "points": points,
        # flat means the slowest daily run on the curve is close to the fastest
        "incremental_max_over_min": max(daily) / min(daily),
    }


def measure_emails(data_set: DataSet) -> tuple[dict[str, Any], dict[str, Any]]:
    run_dir = WORK_DIR / "runs" / data_set.name
    warehouse = str(run_dir / "flywheel.duckdb")
    env = _environment(run_dir)
    render = _worker("render", {"warehouse": warehouse, "messages": RENDER_MESSAGES}, env)
    _say(f"(e) rendering {render['per_second']:.0f} messages/s")

    sending = measure_all(run_dir / "sending", messages=SEND_MESSAGES, warehouse=warehouse)
    return {"render": render}, sending


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import dagster
    import duckdb
    from dbt.version import __version__ as dbt_version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dbt": dbt_version,
        "dagster": dagster.__version__,
        "memory_limit": MEMORY_LIMIT,
        "threads": THREADS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        nargs="*",
        default=list(DATA_SETS),
        choices=list(DATA_SETS),
        metavar="SIZE",
        help=f"data sets of 180 days to measure (default: {' '.join(DATA_SETS)}; "
        "`--sizes` alone: none, the curve only)",
    )
    parser.add_argument(
        "--curve",
        nargs="*",
        type=int,
        default=list(CURVE_DAYS),
        metavar="DAYS",
        help="days of history on the curve of the daily run, at the 1m data set's daily volume "
        f"(default: {' '.join(map(str, CURVE_DAYS))}; `--curve` alone: no curve)",
    )
    parser.add_argument(
        "--curve-accounts",
        type=int,
        default=DATA_SETS["1m"].accounts,
        metavar="N",
        help=f"accounts of the curve's data sets (default: {DATA_SETS['1m'].accounts}, as in "
        "the 1m data set); fewer for a quick check of the code path",
    )
    parser.add_argument("--no-report", action="store_true", help="only write results.json")
    options = parser.parse_args(argv)
    if not options.sizes and not options.curve:
        parser.error("nothing to measure: give --sizes or --curve")
    if any(days < 7 for days in options.curve):
        parser.error("the curve needs at least 7 days of history per point")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "data_sets": {},
    }
    for name in options.sizes:
        results["data_sets"][name] = measure_data_set(DATA_SETS[name])
    if options.curve:
        results["curve"] = measure_curve(
            options.curve, options.curve_accounts, results["data_sets"]
        )
    # Rendering and sending read the payloads of the biggest data set measured (the longest
    # history of the curve when only the curve is measured).
    payloads_from = (
        DATA_SETS[options.sizes[-1]]
        if options.sizes
        else history_data_set(max(options.curve), options.curve_accounts)
    )
    results["emails"], results["sending"] = measure_emails(payloads_from)
    results["emails"]["payloads_from"] = payloads_from.name
    results["total_seconds"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    _say(f"wrote {RESULTS.relative_to(REPO_ROOT)} ({results['total_seconds'] / 60:.1f} min)")
    if not options.no_report:
        from benchmarks.report import write_report

        for path in write_report(results):
            _say(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
