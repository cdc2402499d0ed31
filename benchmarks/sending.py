"""`python -m benchmarks.sending`: (f) sending throughput on its own, with no faults and with
5% faults, written into `benchmarks/results.json` and `docs/benchmarks.md` (its own section)
without running the pipeline benchmarks again. `make bench` runs it too.

Each measure starts the loopback SendGrid-compatible server of the tests
(`tests/sendgrid_server.py`, SendGrid's limits on) in a process of its own, then runs the real
sending path in another: `send_emails` with the SendGrid backend from the settings and the
send ledger in a fresh DuckDB file. The e-mails are rendered before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "benchmarks" / "results.json"
API_KEY = "SG.benchmark-key"
MESSAGES = 5_000
FAULT_RATES = (0.0, 0.05)
WORKERS = 8


def _say(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def measure_sending(
    run_dir: Path,
    *,
    messages: int = MESSAGES,
    fault_rate: float = 0.0,
    warehouse: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One measure: `messages` e-mails to a server failing `fault_rate` of the requests."""
    from benchmarks.run import _environment, _worker

    run_dir.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.worker",
            "sendgrid-server",
            json.dumps(
                {"api_key": API_KEY, "messages": messages, "fault_rate": fault_rate, "seed": 5}
            ),
        ],
        cwd=REPO_ROOT,
        env=env or _environment(run_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        host = json.loads(server.stdout.readline())["host"]
        send_env = _environment(
            run_dir,
            FLYWHEEL_EMAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY=API_KEY,
            SENDGRID_API_HOST=host,
            FLYWHEEL_POSTAL_ADDRESS="1 Benchmark Street, Springfield",
            FLYWHEEL_SECRET_KEY="benchmark-secret-key-of-at-least-32-characters",
        )
        send = _worker(
            "send",
            {
                "warehouse": warehouse,
                "messages": messages,
                "ledger": str(run_dir / "send_ledger.duckdb"),
                "workers": WORKERS,
            },
            send_env,
        )
    finally:
        stdout, _ = server.communicate(input="", timeout=120)
    send["server"] = json.loads(stdout.strip().splitlines()[-1])
    send["fault_rate"] = fault_rate
    send["requests_per_message"] = send["server"]["requests"] / send["messages"]
    return send


def measure_all(
    run_dir: Path, *, messages: int = MESSAGES, warehouse: str | None = None
) -> dict[str, Any]:
    runs = []
    for fault_rate in FAULT_RATES:
        load_before = os.getloadavg()[0]
        result = measure_sending(
            run_dir / f"faults-{fault_rate:.2f}",
            messages=messages,
            fault_rate=fault_rate,
            warehouse=warehouse,
        )
        _say(
            f"(f) sending, {fault_rate:.0%} faults: {result['per_second']:.0f} messages/s "
            f"({result['accepted']:,} accepted, {result['in_doubt']} in doubt, "
            f"{result['requests_per_message']:.2f} requests per message)"
        )
        # the machine's 1-minute load average before and after: the measure shares the cores
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        runs.append(result)
    return {
        "runs": runs,
        "payloads": warehouse or "the preview's sample payloads",
        "workers": WORKERS,
        "cores": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument(
        "--warehouse", default=None, help="read payloads from this warehouse's rpt_email_payloads"
    )
    parser.add_argument("--no-report", action="store_true", help="only print the results")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-sending-") as work:
        sending = measure_all(Path(work), messages=options.messages, warehouse=options.warehouse)
    if options.no_report:
        print(json.dumps(sending, indent=2))
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["sending"] = sending
    results.get("emails", {}).pop("send", None)  # the (f) of an older run, superseded
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    _say(f"wrote {RESULTS.relative_to(REPO_ROOT)}")
    if "data_sets" in results:
        from benchmarks.report import write_report

        for path in write_report(results):
            _say(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
