"""Where the programme report is kept: the latest at a stable path, one per run day beside it."""

import os
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration.settings import Settings

LATEST_NAME = "programme-report.html"


class ReportDirectory(dg.ConfigurableResource):
    """FLYWHEEL_REPORT_DIR: where the programme report is written."""

    path: str = Field(description="FLYWHEEL_REPORT_DIR")

    @classmethod
    def from_settings(cls, settings: Settings) -> "ReportDirectory":
        return cls(path=str(settings.report_dir_path().resolve()))

    @property
    def latest(self) -> Path:
        """The latest report, at a path that never changes."""
        return Path(self.path) / LATEST_NAME

    def of_day(self, day: date) -> Path:
        """The report a run for `day` wrote."""
        return Path(self.path) / f"programme-report-{day.isoformat()}.html"

    def write(self, html: str, day: date) -> tuple[Path, Path]:
        """Write the day's report and make it the latest; (latest, the day's)."""
        Path(self.path).mkdir(parents=True, exist_ok=True)
        written = []
        for target in (self.of_day(day), self.latest):
            # a reader with the page open never sees a half-written file
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_text(html, encoding="utf-8")
            os.replace(temporary, target)
            written.append(target)
        return written[1], written[0]
