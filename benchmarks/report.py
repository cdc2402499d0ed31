"""`docs/benchmarks.md` and `docs/benchmarks.png` from the results of `benchmarks.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = REPO_ROOT / "docs" / "benchmarks.md"
PLOT = REPO_ROOT / "docs" / "benchmarks.png"
GIB = 1024**3

# The targets, checked on the biggest data set.
FULL_OVER_FLOOR_MAX = 10.0
INCREMENTAL_OVER_FULL_MAX = 0.05
PEAK_MEMORY_MAX = 4 * GIB
RENDER_MIN = 2_000
SEND_MIN = 500


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, met or missed) for each target of the issue."""
    name = max(results["data_sets"], key=lambda n: results["data_sets"][n]["rows"]["events"])
    big = results["data_sets"][name]
    render = results["emails"]["render"]["per_second"]
    send = _clean_sending(results)["per_second"]
    return [
        (
            f"(b) within {FULL_OVER_FLOOR_MAX:.0f}x of (a) at {name}",
            f"{big['full_over_floor']:.0f}x",
            _met(big["full_over_floor"] <= FULL_OVER_FLOOR_MAX),
        ),
        (
            f"(c) at most {INCREMENTAL_OVER_FULL_MAX:.0%} of (b) at {name}",
            f"{big['incremental_over_full']:.0%}",
            _met(big["incremental_over_full"] <= INCREMENTAL_OVER_FULL_MAX),
        ),
        (
            f"(d) peak memory under {PEAK_MEMORY_MAX / GIB:.0f} GiB at {name}",
            f"{big['peak_rss_bytes'] / GIB:.2f} GiB",
            _met(big["peak_rss_bytes"] < PEAK_MEMORY_MAX),
        ),
        (
            f"(e) rendering at least {RENDER_MIN:,} messages/s (one core)",
            f"{render:,.0f}/s",
            _met(render >= RENDER_MIN),
        ),
        (
            f"(f) sending at least {SEND_MIN} messages/s to loopback, no faults",
            f"{send:,.0f}/s",
            _met(send >= SEND_MIN),
        ),
    ]


def _clean_sending(results: dict[str, Any]) -> dict[str, Any]:
    """The sending measure without faults (`benchmarks.sending`; older results: (f))."""
    if "sending" in results:
        return next(run for run in results["sending"]["runs"] if not run["fault_rate"])
    return results["emails"]["send"]


def _sending_lines(results: dict[str, Any]) -> list[str]:
    """The sending section: one row per fault rate."""
    if "sending" not in results:
        return []
    sending = results["sending"]
    lines = [
        "",
        "## Sending",
        "",
        f"Measured on {sending['date'][:10]} by `python -m benchmarks.sending` (also part of "
        f"`make bench`), {sending['workers']} worker threads, payloads: {sending['payloads']}. "
        "SendGrid's limits are on in the server (10 cancelled batches, the 10-minute cut-off, "
        "rate limits).",
        "",
        "| faults | messages | accepted | in doubt (parked) | seconds | sent per second "
        "| requests per message | cancelled batches | load average |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in sending["runs"]:
        load = run.get("load_average")
        lines.append(
            f"| {run['fault_rate']:.0%} | {run['messages']:,} | {run['accepted']:,} "
            f"| {run['in_doubt']:,} | {run['seconds']:.1f} | {run['per_second']:,.0f} "
            f"| {run['requests_per_message']:.3f} | {run['cancelled_batches']} "
            f"| {'–'.join(f'{x:.1f}' for x in load) if load else ''} |"
        )
    lines += [
        "",
        "Sent per second counts the messages accepted in the run over its wall time (the "
        "ledger writes included, rendering excluded). Faults are a seeded draw over every "
        "request: 429 (reset at once), 500, or taken then dropped without an answer. With "
        "faults, the attempts in doubt beyond what the cancel slots settle stay parked; a "
        "later run settles them with the provider's events (docs/sending.md). Requests per "
        "message counts every request the server received (batches, sends, cancels). The "
        f"server and the sender share the machine's {sending.get('cores', '?')} cores: the "
        "load average (1 minute, before and after) says how busy they were with other work.",
    ]
    return lines


def _steps(run: dict[str, Any]) -> str:
    """The five longest Dagster steps, then the rest as one figure."""
    steps = sorted(run["steps"].items(), key=lambda item: -item[1])
    text = ", ".join(f"`{step}` {seconds:.1f} s" for step, seconds in steps[:5])
    rest = steps[5:]
    if rest:
        text += f", {len(rest)} other steps {sum(seconds for _, seconds in rest):.1f} s"
    return text


def markdown(results: dict[str, Any], plot_name: str) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run.py`) from its last run on "
        f"{results['date'][:10]}; the raw numbers are in `benchmarks/results.json`. "
        f"The whole run took {results['total_seconds'] / 60:.1f} minutes.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / GIB:.0f} GiB, "
        f"{m['os']}; Python {m['python']}, DuckDB {m['duckdb']}, dbt {m['dbt']}, "
        f"Dagster {m['dagster']}. DuckDB's memory limit "
        f"(`FLYWHEEL_DUCKDB_MEMORY_LIMIT`) is {m['memory_limit']} for every step; DuckDB runs "
        f"each query on {m['threads']} threads, and dbt builds one model at a time "
        "(`threads: 1` in the profile).",
        "",
        "## Pipeline",
        "",
        "| data set | events | users | (a) floor | (b) full pipeline | (b)/(a) "
        "| (c) incremental day | (c)/(b) | (d) peak memory | warehouse |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in results["data_sets"].items():
        lines.append(
            f"| {name} | {d['rows']['events']:,} | {d['rows']['users']:,} "
            f"| {d['floor']['seconds']:.1f} s | {d['full']['wall_seconds']:.0f} s "
            f"| {d['full_over_floor']:.0f}x | {d['incremental']['wall_seconds']:.0f} s "
            f"| {d['incremental_over_full']:.0%} | {d['peak_rss_bytes'] / GIB:.2f} GiB "
            f"| {d['warehouse_bytes'] / GIB:.2f} GiB |"
        )
    e = results["emails"]
    r, s = e["render"], _clean_sending(results)
    lines += [
        "",
        "## E-mails",
        "",
        "| measure | messages | seconds | messages per second |",
        "|---|---:|---:|---:|",
        f"| (e) rendering, one core (templates compiled in {r['compile_seconds']:.1f} s first) "
        f"| {r['messages']:,} | {r['seconds']:.1f} | {r['per_second']:,.0f} |",
        f"| (f) sending, no faults: ledger + SendGrid backend → loopback server "
        f"| {s['accepted']:,} | {s['seconds']:.1f} | {s['per_second']:,.0f} |",
        "",
        f"Payloads: a fixed sample of `email.rpt_email_payloads` of the {e['payloads_from']} "
        "data set (every trigger type and locale). Sending: see the next section.",
        *_sending_lines(results),
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
    ]
    lines += [f"| {target} | {value} | {met} |" for target, value, met in targets(results)]
    lines += ["", "## Where the time goes", ""]
    for name, d in results["data_sets"].items():
        full, inc = d["full"], d["incremental"]
        lines.append(
            f"- {name}, (b): start-up (interpreter, imports, dbt parse) "
            f"{full['startup_seconds']:.0f} s; "
            f"steps: {_steps(full)}."
        )
        lines.append(
            f"- {name}, (c): start-up {inc['startup_seconds']:.0f} s; steps: {_steps(inc)}."
        )
    lines += [
        "",
        f"![pipeline times and ratios]({plot_name})",
        "",
        "## What is measured",
        "",
        "- Data: `orchestration.demo_data.generate`, 180 days ending "
        f"{next(iter(results['data_sets'].values()))['data_set']['end_date']}, about 28 "
        "events per account and day (200 accounts for 1M events, 2,000 for 10M), Parquet. "
        "Generation is cached in `benchmarks/.work/data/` and not measured.",
        "- (a) floor: one DuckDB query reads the raw event files once, joins the users' time "
        "zones and writes one row per user and local day with a count per event type, the "
        "event count and the minutes saved (`benchmarks/worker.py`, `floor_sql`). Query "
        "time only.",
        "- (b) full pipeline: on an empty warehouse, `run_daily(end - 1 day, send=False)` in "
        "a fresh process, as `flywheel run` does it: dbt parse, the Dagster job (ingestion of "
        "every raw file, `dbt build` of every model and data test, the Great Expectations "
        "checks) up to the payloads, no rendering or sending. Wall time of the process.",
        "- (c) incremental day: the last day's event file is added and "
        "`run_daily(end, send=False)` runs on top of (b)'s warehouse. Same process set-up.",
        "- Start-up: from the process's start (read from /proc) to the job's start: the "
        "interpreter, the imports (Dagster, dagster-dbt with dbt-core, the definitions) and "
        "the manifest check, or dbt's parse when the project changed. Great Expectations is "
        "imported by the first check that runs, `raw__events_events_are_fresh`, once per "
        "process: most of that step's time. Each dbt step's time includes dbt's own start-up "
        "(its imports, the partial parse) in the dbt process.",
        "- (d) peak memory: the resident memory of the process tree (Dagster's process plus "
        "the dbt process it starts), sampled every 0.2 s from /proc, the higher of (b) and (c).",
        "- (e) rendering: `render_email` over the payload sample in one process pinned to one "
        "core; the one-off template compilation is reported apart.",
        "- (f) sending: `send_emails` with the SendGrid backend from the settings "
        "(`FLYWHEEL_EMAIL_BACKEND=sendgrid`, `SENDGRID_API_HOST` on loopback) and the send "
        "ledger in a DuckDB file: per unit of 100 messages one batch id, one ledger statement "
        "writing the unit `pending`, a `mail/send` call per message on kept-alive "
        "connections, and one ledger statement with the answers (docs/sending.md). The "
        "server is `tests/sendgrid_server.py` in its own process, with no faults and with 5% "
        "(`benchmarks/sending.py`).",
        "",
        "## Reproduce",
        "",
        "```bash",
        "make bench                                   # everything, about 20 minutes",
        "uv run --frozen python -m benchmarks.run --sizes 1m   # the 1M data set only",
        "uv run --frozen python -m benchmarks.sending          # sending only (make bench-sending)",
        "```",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["data_sets"])
    data = [results["data_sets"][name] for name in names]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.26
    series = [
        ("(a) floor", [d["floor"]["seconds"] for d in data]),
        ("(b) full pipeline", [d["full"]["wall_seconds"] for d in data]),
        ("(c) incremental day", [d["incremental"]["wall_seconds"] for d in data]),
    ]
    for i, (label, values) in enumerate(series):
        positions = [x + (i - 1) * width for x in range(len(names))]
        bars = times.bar(positions, values, width, label=label)
        times.bar_label(bars, labels=[f"{v:.0f}s" if v >= 10 else f"{v:.1f}s" for v in values])
    times.set_yscale("log")
    times.set_ylim(top=max(max(values) for _, values in series) * 20)  # room for the legend
    times.set_xticks(range(len(names)), [f"{n} events" for n in names])
    times.set_ylabel("seconds (log scale)")
    times.set_title("Pipeline time")
    times.legend(loc="upper left")
    peaks = [d["peak_rss_bytes"] / GIB for d in data]
    bars = memory.bar(range(len(names)), peaks, 0.5, color="tab:purple")
    memory.bar_label(bars, labels=[f"{p:.2f} GiB" for p in peaks])
    memory.axhline(PEAK_MEMORY_MAX / GIB, color="tab:red", linestyle="--", label="target")
    memory.set_xticks(range(len(names)), [f"{n} events" for n in names])
    memory.set_ylabel("GiB")
    memory.set_title(f"(d) peak memory (DuckDB limit {results['machine']['memory_limit']})")
    memory.set_ylim(0, PEAK_MEMORY_MAX / GIB * 1.2)
    memory.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: dict[str, Any]) -> list[Path]:
    plot(results, PLOT)
    MARKDOWN.write_text(markdown(results, PLOT.name))
    return [MARKDOWN, PLOT]
