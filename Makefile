# Flywheel's entry points. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export DO_NOT_TRACK := 1

# The demo keeps to its own folder, so it never touches a warehouse configured in .env.
# Its data ends on DEMO_DAY, the first day of a quarter (expansion invites), after a month's
# end (account reports) and a Sunday (weekly reports), and its run catches up a week of
# triggers (FLYWHEEL_SEND_GRACE_DAYS), so the outbox holds every kind of e-mail.
# Its six months of history include the e-mail programme's sends and their webhook events,
# with an effect planted for the nudges (docs/effect.md); 600 accounts hold out about 60, enough
# for the lift to tell that effect from noise.
DEMO_DIR := $(CURDIR)/data/demo
DEMO_DAY := 2026-10-01
DEMO_ACCOUNTS := 600
DEMO_EVENTS := 900000
DEMO_ENV := FLYWHEEL_RAW_DIR=$(DEMO_DIR)/raw FLYWHEEL_WAREHOUSE=$(DEMO_DIR)/flywheel.duckdb \
	FLYWHEEL_OUTBOX_DIR=$(DEMO_DIR)/outbox FLYWHEEL_EMAIL_BACKEND=outbox DBT_TARGET=duckdb \
	FLYWHEEL_SEND_GRACE_DAYS=7

.PHONY: setup system-deps demo test ui lint format bench bench-sending docs-emails docs-bi-chart

setup: .venv/.synced

# Headless Chromium for the e-mail preview checks, a PostgreSQL server for the second
# warehouse's tests and Java for Spark's (Debian's packages; run as root). Debian keeps initdb
# off PATH.
system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	@command -v java >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

# Bytecode is compiled once here: uv installs none, and where PYTHONDONTWRITEBYTECODE is set
# or site-packages is read-only Python never caches it, so every process (each `flywheel run`,
# each dbt command) compiled again every module it imports: about half of a run's start-up, of
# Great Expectations' import and of each dbt command's own start-up (docs/scaling.md).
.venv/.synced: pyproject.toml uv.lock Makefile
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	uv sync --frozen --compile-bytecode
	@touch $@

demo: setup  ## Generate demo data and run the whole pipeline on DuckDB
	rm -rf $(DEMO_DIR)
	$(DEMO_ENV) uv run --frozen flywheel generate --end-date $(DEMO_DAY) \
		--accounts $(DEMO_ACCOUNTS) --events $(DEMO_EVENTS) --email-history
	$(DEMO_ENV) uv run --frozen flywheel run --as-of $(DEMO_DAY)
	$(DEMO_ENV) uv run --frozen flywheel preview --out $(DEMO_DIR)/previews

# The tests add the `spark` dependency group (dbt-spark, pyspark: tests/test_spark.py), which
# `make demo` does not install.
test: setup system-deps  ## Run the test suite
	uv run --frozen --group spark pytest

ui: setup  ## Open the Dagster UI on the demo warehouse
	$(DEMO_ENV) uv run --frozen dagster dev -m orchestration.definitions

lint: setup
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen sqlfluff lint dbt_project/models

format: setup
	uv run --frozen ruff check --fix .
	uv run --frozen ruff format .

docs-emails: setup  ## Pictures of each trigger type's typical e-mail in the demo warehouse (after make demo)
	$(DEMO_ENV) uv run --frozen flywheel docs-pictures

docs-bi-chart: setup  ## The chart in docs/bi.md, from the demo's serving copy (after make demo)
	$(DEMO_ENV) uv run --frozen flywheel docs-bi-chart

# `make bench` takes about 40 minutes on 2 cores: 25 for the 1M and 10M data sets and the
# e-mails, 15 for the daily run against 30, 90 and 360 days of history (180 is the 1M data
# set). Less once the daily run is incremental. A quick check of the code path:
# `uv run --frozen python -m benchmarks.run --sizes --curve 30 60 --curve-accounts 30 --no-report`.
bench: setup  ## Benchmarks: 1M and 10M events, the daily run against history length; writes docs/benchmarks.md (about 40 min)
	uv run --frozen python -m benchmarks.run

bench-sending: setup  ## Sending throughput only (no faults, 5% faults); updates docs/benchmarks.md
	uv run --frozen python -m benchmarks.sending
