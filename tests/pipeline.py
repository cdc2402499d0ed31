"""Helpers to run the pipeline on generated data inside a test."""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from orchestration.resources import flywheel_resources
from orchestration.settings import Settings

END_DATE = date(2026, 3, 31)


@dataclass(frozen=True)
class Pipeline:
    raw_dir: Path
    warehouse: Path

    @property
    def outbox(self) -> Path:
        return self.warehouse.parent / "outbox"

    def resources(self, **settings: Any) -> dict[str, Any]:
        """The resources of a run on this raw directory and warehouse, with an outbox of its
        own next to the warehouse; more settings by their variable's name."""
        return flywheel_resources(
            Settings(
                _env_file=None,
                FLYWHEEL_RAW_DIR=self.raw_dir,
                FLYWHEEL_WAREHOUSE=self.warehouse,
                FLYWHEEL_OUTBOX_DIR=self.outbox,
                **settings,
            )
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def run_pipeline(root: Path, as_of: date, **generate_options) -> Pipeline:
    """Generate a small data set under root and run the daily job for as_of on it."""
    from orchestration.demo_data import generate
    from orchestration.runner import run_daily

    pipeline = Pipeline(raw_dir=root / "raw", warehouse=root / "flywheel.duckdb")
    options = {"accounts": 25, "days": 45, "target_events": 15_000, "end_date": END_DATE}
    generate(pipeline.raw_dir, progress=False, **(options | generate_options))
    result = run_daily(as_of, resources=pipeline.resources())
    assert result.success, "the daily job failed"
    return pipeline


def dirty_manifest(pipeline: Pipeline) -> dict:
    return json.loads((pipeline.raw_dir / "_dirty_manifest.json").read_text())
