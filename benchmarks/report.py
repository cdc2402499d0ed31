"""`docs/benchmarks.md` and `docs/benchmarks.png` from the results of `benchmarks.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = REPO_ROOT / "docs" / "benchmarks.md"
PLOT = REPO_ROOT / "docs" / "benchmarks.png"
GIB = 1024**3

# The targets of issue 14 (a daily run whose cost follows the day, not the history), checked
# on the biggest data set, and those of the first benchmarks for memory and e-mails.
INCREMENTAL_OVER_FULL_MAX = 0.15
FULL_OVER_FLOOR_MAX = 30.0
STARTUP_MAX_SECONDS = 5.0
CURVE_FLAT_MAX = 1.5
PEAK_MEMORY_MAX = 4 * GIB
RENDER_MIN = 2_000
SEND_MIN = 500


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _pipeline_targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The targets of the biggest data set measured (10m in a full run)."""
    if not results["data_sets"]:
        return []
    name = max(results["data_sets"], key=lambda n: results["data_sets"][n]["rows"]["events"])
    big = results["data_sets"][name]
    startup = big["incremental"]["startup_seconds"]
    return [
        (
            f"(c) one more day at most {INCREMENTAL_OVER_FULL_MAX:.0%} of (b) the full "
            f"build, at {name}",
            f"{big['incremental_over_full']:.0%}",
            _met(big["incremental_over_full"] <= INCREMENTAL_OVER_FULL_MAX),
        ),
        (
            f"(b) full pipeline within {FULL_OVER_FLOOR_MAX:.0f}x of (a) the floor query, "
            f"at {name}",
            f"{big['full_over_floor']:.0f}x",
            _met(big["full_over_floor"] <= FULL_OVER_FLOOR_MAX),
        ),
        (
            f"start-up of a run (imports, dbt manifest) at most {STARTUP_MAX_SECONDS:.0f} s: "
            f"(c) at {name}, manifest reused",
            f"{startup:.1f} s",
            _met(startup <= STARTUP_MAX_SECONDS),
        ),
        (
            f"(d) peak memory under {PEAK_MEMORY_MAX / GIB:.0f} GiB at {name}",
            f"{big['peak_rss_bytes'] / GIB:.2f} GiB",
            _met(big["peak_rss_bytes"] < PEAK_MEMORY_MAX),
        ),
    ]


def _curve_target(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    curve = results.get("curve")
    if not curve:
        return []
    days = [point["days"] for point in curve["points"]]
    return [
        (
            f"(c) flat within {CURVE_FLAT_MAX}x from {min(days)} to {max(days)} days of "
            "history (slowest over fastest)",
            f"{curve['incremental_max_over_min']:.2f}x",
            _met(curve["incremental_max_over_min"] <= CURVE_FLAT_MAX),
        )
    ]


def _email_targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    render = results["emails"]["render"]["per_second"]
    send = _clean_sending(results)["per_second"]
    return [
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


def targets(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, met or missed) for each target."""
    return _pipeline_targets(results) + _curve_target(results) + _email_targets(results)


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


def _pipeline_lines(results: dict[str, Any]) -> list[str]:
    """The table of the 180-day data sets."""
    if not results["data_sets"]:
        return []
    lines = [
        "## Pipeline",
        "",
        "| data set | events | users | (a) floor | (b) full pipeline | (b)/(a) "
        "| (c) one more day | (c)/(b) | (d) peak memory | warehouse |",
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
    return [*lines, ""]


def _curve_lines(results: dict[str, Any]) -> list[str]:
    """The table of the daily run against history length."""
    curve = results.get("curve")
    if not curve:
        return []
    lines = [
        "## The daily run against history length",
        "",
        f"The same {curve['accounts']:,} accounts and daily volume (about 28 events per account "
        "and day) over histories of different lengths: (b) builds the history on an empty "
        "warehouse, then (c) runs one more day on top of it. A daily run whose cost follows "
        "the day, not the history, stays flat from the shortest history to the longest. "
        "Start-up is that of (c), with the dbt manifest reused.",
        "",
        "| days of history | events | (a) floor | (b) full pipeline | (c) one more day "
        "| (c)/(b) | start-up of (c) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for point in curve["points"]:
        same = (
            f" ({point['data_set_name']})" if point["data_set_name"] != f"{point['days']}d" else ""
        )
        lines.append(
            f"| {point['days']}{same} | {point['rows']['events']:,} "
            f"| {point['floor']['seconds']:.1f} s | {point['full']['wall_seconds']:.0f} s "
            f"| {point['incremental']['wall_seconds']:.0f} s "
            f"| {point['incremental_over_full']:.0%} "
            f"| {point['incremental']['startup_seconds']:.1f} s |"
        )
    lines += [
        "",
        f"Slowest (c) over fastest: {curve['incremental_max_over_min']:.2f}x. A row named "
        "after a data set of the table above is that data set, measured once.",
        "",
    ]
    return lines


def _email_lines(results: dict[str, Any]) -> list[str]:
    e = results["emails"]
    r, s = e["render"], _clean_sending(results)
    return [
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
    ]


def _time_lines(results: dict[str, Any]) -> list[str]:
    lines = ["## Where the time goes", ""]
    for name, d in results["data_sets"].items():
        full, inc = d["full"], d["incremental"]
        lines.append(
            f"- {name}, (b): start-up (interpreter, imports, dbt parse) "
            f"{full['startup_seconds']:.0f} s; steps: {_steps(full)}."
        )
        lines.append(
            f"- {name}, (c): start-up {inc['startup_seconds']:.0f} s; steps: {_steps(inc)}."
        )
    for point in results.get("curve", {}).get("points", []):
        if point["data_set_name"] not in results["data_sets"]:
            inc = point["incremental"]
            lines.append(
                f"- {point['days']} days of history, (c): start-up "
                f"{inc['startup_seconds']:.0f} s; steps: {_steps(inc)}."
            )
    return lines


def _end_date(results: dict[str, Any]) -> str:
    measured = [*results["data_sets"].values(), *results.get("curve", {}).get("points", [])]
    return measured[0]["data_set"]["end_date"]


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
        *_pipeline_lines(results),
        *_curve_lines(results),
        *_email_lines(results),
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---:|---|",
    ]
    lines += [f"| {target} | {value} | {met} |" for target, value, met in targets(results)]
    lines += [
        "",
        *_time_lines(results),
        "",
        f"![pipeline times, peak memory and the daily run against history length]({plot_name})",
        "",
        "## What is measured",
        "",
        f"- Data: `orchestration.demo_data.generate`, ending {_end_date(results)}, Parquet: "
        "180 days at about 28 events per account and day for the data sets (200 accounts "
        "for 1M events, 2,000 for 10M), and the same events per account and day over 30 to "
        "360 days for the curve (`benchmarks/data.py`, `history_data_set`). Generation is "
        "cached in `benchmarks/.work/data/` and not measured.",
        "- (a) floor: one DuckDB query reads the raw event files once, joins the users' time "
        "zones and writes one row per user and local day with a count per event type, the "
        "event count and the minutes saved (`benchmarks/worker.py`, `floor_sql`). Query "
        "time only.",
        "- (b) full pipeline: on an empty warehouse, `run_daily(end - 1 day, send=False)` in "
        "a fresh process, as `flywheel run` does it: dbt parse, the Dagster job (ingestion of "
        "every raw file, `dbt build` of every model and data test, the Great Expectations "
        "checks) up to the payloads, no rendering or sending. Wall time of the process.",
        "- (c) one more day: the last day's event file is added and "
        "`run_daily(end, send=False)` runs on top of (b)'s warehouse. Same process set-up.",
        "- Start-up: from the process's start (read from /proc) to the job's start: the "
        "interpreter, the imports (Dagster, dagster-dbt with dbt-core, the definitions) and "
        "the manifest check, or dbt's parse when the project changed. Great Expectations is "
        "imported by the first check that runs, `raw__events_events_are_fresh`, once per "
        "process: most of that step's time. Each dbt step's time includes dbt's own start-up "
        "(its imports, the partial parse) in the dbt process.",
        "- (d) peak memory: the resident memory of the process tree (Dagster's process plus "
        "the dbt process it starts), sampled every 0.2 s from /proc, the higher of (b) and (c).",
        "- The daily run against history length: (a), (b) and (c) for each length of "
        "history, as for the data sets; flat means the slowest (c) is within "
        f"{CURVE_FLAT_MAX}x of the fastest.",
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
        "make bench                                   # everything, about 40 minutes",
        "uv run --frozen python -m benchmarks.run --sizes 1m --curve   # 1M only, no curve",
        "uv run --frozen python -m benchmarks.run --sizes --curve 30 90 180   # the curve only",
        "uv run --frozen python -m benchmarks.run --sizes --curve 30 60 --curve-accounts 30 \\",
        "    --no-report                              # a quick check of the code path",
        "uv run --frozen python -m benchmarks.sending          # sending only (make bench-sending)",
        "```",
        "",
    ]
    return "\n".join(lines)


def _times_panel(axes: Any, names: list[str], data: list[dict[str, Any]]) -> None:
    width = 0.26
    series = [
        ("(a) floor", [d["floor"]["seconds"] for d in data]),
        ("(b) full pipeline", [d["full"]["wall_seconds"] for d in data]),
        ("(c) one more day", [d["incremental"]["wall_seconds"] for d in data]),
    ]
    for i, (label, values) in enumerate(series):
        positions = [x + (i - 1) * width for x in range(len(names))]
        bars = axes.bar(positions, values, width, label=label)
        axes.bar_label(bars, labels=[f"{v:.0f}s" if v >= 10 else f"{v:.1f}s" for v in values])
    axes.set_yscale("log")
    axes.set_ylim(top=max(max(values) for _, values in series) * 20)  # room for the legend
    axes.set_xticks(range(len(names)), [f"{n} events" for n in names])
    axes.set_ylabel("seconds (log scale)")
    axes.set_title("Pipeline time")
    axes.legend(loc="upper left")


def _memory_panel(
    axes: Any, names: list[str], data: list[dict[str, Any]], memory_limit: str
) -> None:
    peaks = [d["peak_rss_bytes"] / GIB for d in data]
    bars = axes.bar(range(len(names)), peaks, 0.5, color="tab:purple")
    axes.bar_label(bars, labels=[f"{p:.2f} GiB" for p in peaks])
    axes.axhline(PEAK_MEMORY_MAX / GIB, color="tab:red", linestyle="--", label="target")
    axes.set_xticks(range(len(names)), [f"{n} events" for n in names])
    axes.set_ylabel("GiB")
    axes.set_title(f"(d) peak memory (DuckDB limit {memory_limit})")
    axes.set_ylim(0, PEAK_MEMORY_MAX / GIB * 1.2)
    axes.legend(loc="upper left")


def _curve_panel(axes: Any, curve: dict[str, Any]) -> None:
    points = curve["points"]
    days = [point["days"] for point in points]
    full = [point["full"]["wall_seconds"] for point in points]
    daily = [point["incremental"]["wall_seconds"] for point in points]
    axes.plot(days, full, marker="o", color="tab:orange", label="(b) full pipeline")
    axes.plot(days, daily, marker="o", color="tab:green", label="(c) one more day")
    for x, y in zip(days, daily, strict=True):
        axes.annotate(f"{y:.0f}s", (x, y), textcoords="offset points", xytext=(0, -14), ha="center")
    axes.axhline(
        min(daily) * CURVE_FLAT_MAX,
        color="tab:red",
        linestyle="--",
        label=f"flat: {CURVE_FLAT_MAX}x the fastest (c)",
    )
    axes.set_xticks(days)
    axes.set_xlabel("days of history")
    axes.set_ylabel("seconds")
    axes.set_ylim(0, max(full) * 1.45)  # room for the legend
    axes.set_title(f"Daily run against history ({curve['accounts']} accounts)")
    axes.legend(loc="upper left")


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["data_sets"])
    data = [results["data_sets"][name] for name in names]
    curve = results.get("curve")
    panels = (2 if names else 0) + (1 if curve else 0)
    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), squeeze=False)
    axes = list(axes[0])
    if names:
        _times_panel(axes.pop(0), names, data)
        _memory_panel(axes.pop(0), names, data, results["machine"]["memory_limit"])
    if curve:
        _curve_panel(axes.pop(0), curve)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: dict[str, Any]) -> list[Path]:
    plot(results, PLOT)
    MARKDOWN.write_text(markdown(results, PLOT.name))
    return [MARKDOWN, PLOT]
