"""Flywheel's benchmarks: `make bench` (or `uv run python -m benchmarks.run`).

For generated data sets of about 1M and 10M events over 180 days, one run measures:

(a) the floor: one hand-written DuckDB query that reads the raw event files once and builds
    the daily user activity (`floor.py`);
(b) the full pipeline on an empty warehouse: `run_daily(end - 1 day, send=False)`, i.e. the
    Dagster job from ingestion through the dbt models and checks to the payloads, no sending;
(c) one incremental daily run on top of that history: the last day's event file appears and
    `run_daily(end, send=False)` loads and builds it;
(d) peak memory: the resident memory of the whole process tree of (b) and (c) (Dagster's
    process and the dbt process it starts), sampled from /proc, with DuckDB's memory limit
    (FLYWHEEL_DUCKDB_MEMORY_LIMIT) set;
(e) rendering throughput: real payload rows of `email.rpt_email_payloads` rendered by
    `render_email` in one process pinned to one core (messages per second);
(f) sending throughput: rendered e-mails sent through the real sending path (send ledger in
    DuckDB + the SendGrid backend) to the loopback SendGrid-compatible server of
    `tests/sendgrid_server.py`, running in its own process, without fault injection.

Then the daily run against history length: (a), (b) and (c) again over 30, 90, 180 and 360
days of history at the 1m data set's volume per account and day (its 200 accounts; the
180-day point is the 1m data set, measured once). The daily run (c) should stay flat, within
1.5x, from the shortest history to the longest.

Start-up, reported for (b) and (c), is the time from the first line of the measured step to
the start of the Dagster job: every import, Dagster's included, and the dbt manifest.

Every measured step runs in its own subprocess with its own environment (the settings are read
once per process), so timings include interpreter and Dagster start-up, as a scheduled run
would. Generated data is cached under `benchmarks/.work/data/` keyed by its parameters;
generation time is reported but is not a measured item.

Results go to `benchmarks/results.json`, `docs/benchmarks.md` and `docs/benchmarks.png`.
Options: `python -m benchmarks.run --help`: `--sizes 1m --curve` for the 1m data set alone,
`--sizes --curve 30 60 --curve-accounts 30 --no-report` for a quick check of the code path.
"""
