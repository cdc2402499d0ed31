"""Generated data sets, cached by their parameters, and the raw directories of a run."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path

WORK_DIR = Path(__file__).resolve().parent / ".work"
END_DATE = date(2025, 12, 31)
DAYS = 180
PARAMS_FILE = "_benchmark_params.json"  # `_`-prefixed: never loaded as a raw file


@dataclass(frozen=True)
class DataSet:
    """One generated data set: `accounts` keeps the events per account and day (~28) the same
    at every size, so a 10x bigger data set has about 10x the accounts and users."""

    name: str
    target_events: int
    accounts: int
    days: int = DAYS
    end_date: date = END_DATE
    seed: int = 42

    @property
    def key(self) -> str:
        return f"{self.name}-e{self.target_events}-a{self.accounts}-d{self.days}-{self.end_date}"

    def params(self) -> dict:
        return {**asdict(self), "end_date": self.end_date.isoformat()}


DATA_SETS = {
    "1m": DataSet("1m", target_events=1_000_000, accounts=200),
    "10m": DataSet("10m", target_events=10_000_000, accounts=2_000),
}
# Days of history on the curve of the daily run against history length.
CURVE_DAYS = (30, 90, 180, 360)


def history_data_set(days: int, accounts: int | None = None) -> DataSet:
    """`days` of history at the daily volume of the 1m data set: its events per account and
    simulated day, over `accounts` accounts (its 200 unless given). The 1m data set itself when
    that is what it would be (180 days, 200 accounts), so its cached files are reused."""
    from orchestration.demo_data.population import Calendar

    base = DATA_SETS["1m"]
    accounts = accounts or base.accounts

    def simulated_days(days: int) -> int:  # the generator spreads its events over these
        return len(Calendar(base.end_date - timedelta(days=days - 1), base.end_date).days)

    per_account_day = base.target_events / (base.accounts * simulated_days(base.days))
    target_events = round(per_account_day * accounts * simulated_days(days))
    data_set = replace(
        base, name=f"{days}d", target_events=target_events, accounts=accounts, days=days
    )
    return base if replace(data_set, name=base.name) == base else data_set


@dataclass(frozen=True)
class Generated:
    path: Path
    rows: dict[str, int]
    seconds: float  # generation time (0 when cached: see cached_seconds)
    cached: bool
    cached_seconds: float  # how long generating it took when it was made


def ensure_data(data_set: DataSet) -> Generated:
    """The data set's raw files, generated unless a copy with the same parameters exists."""
    from orchestration.demo_data import generate

    target = WORK_DIR / "data" / data_set.key
    marker = target / PARAMS_FILE
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved["params"] == data_set.params():
            return Generated(target, saved["rows"], 0.0, True, saved["seconds"])
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    summary = generate(
        target,
        seed=data_set.seed,
        accounts=data_set.accounts,
        days=data_set.days,
        end_date=data_set.end_date,
        target_events=data_set.target_events,
        progress=False,
    )
    seconds = time.perf_counter() - start
    marker.write_text(
        json.dumps({"params": data_set.params(), "rows": summary.rows, "seconds": seconds})
    )
    return Generated(target, dict(summary.rows), seconds, False, seconds)


def link_raw_dir(source: Path, target: Path, *, until: date) -> int:
    """Fill `target` with symbolic links to the raw files of `source`, leaving out the daily
    event files after `until` (`events/YYYY-MM-DD.parquet`). Returns the number of files."""
    count = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or relative.name.startswith((".", "_")):
            continue
        if relative.parts[0] == "events" and date.fromisoformat(path.stem) > until:
            continue
        link = target / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path)
            count += 1
    return count


def history_day(data_set: DataSet) -> date:
    """The last day of the history that (b) builds; (c) then runs the day after."""
    return data_set.end_date - timedelta(days=1)
