"""`make demo`, the README's first command, run into a temporary folder: it succeeds, its
outbox holds at least one e-mail of every trigger type (weekly reports included), its summary
ends with one of each to open, and the lift it measures finds the effect the demo planted
(orchestration/demo_data/programme.py) and no other."""

import email
import re
import shutil
import subprocess
from dataclasses import dataclass
from email import policy
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import pytest

from orchestration.emails.groups import trigger_types
from orchestration.settings import REPO_ROOT

OPEN_LINE = re.compile(r"^ +(\w+) \(([\d,]+)\): (file://\S+)$", re.M)


@dataclass(frozen=True)
class Demo:
    folder: Path
    stdout: str

    def query(self, sql: str, params: list | None = None) -> list[dict]:
        with duckdb.connect(str(self.folder / "flywheel.duckdb"), read_only=True) as con:
            cursor = con.execute(sql, params or [])
            columns = [column[0] for column in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def lift(self, trigger_type: str, outcome: str) -> dict:
        (row,) = self.query(
            "select * from marts.fct_email_lift "
            "where trigger_type = ? and locale = 'all' and outcome = ?",
            [trigger_type, outcome],
        )
        return row


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("make-demo")
    dagster_home = root / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", dagster_home)
    folder = root / "demo"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "demo",
            f"DEMO_DIR={folder}",
            f"DAGSTER_HOME={dagster_home}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=2400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Demo(folder, result.stdout)


def test_make_demo_outbox_holds_every_kind_of_email(demo):
    triggers = set()
    for eml in (demo.folder / "outbox").glob("*.eml"):
        with eml.open("rb") as file:
            triggers.add(
                email.message_from_binary_file(file, policy=policy.default)["X-Flywheel-Trigger"]
            )
    assert triggers == set(trigger_types())

    to_open = {
        name: Path(unquote(urlsplit(uri).path)) for name, _, uri in OPEN_LINE.findall(demo.stdout)
    }
    assert set(to_open) == set(trigger_types())
    for page in to_open.values():
        assert page.parent == demo.folder / "outbox"
        assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert (demo.folder / "previews" / "index.html").exists()


def test_make_demo_simulated_sends_are_the_triggers_dbt_finds(demo):
    """The simulated history names each send as the pipeline keys its trigger, and none is a
    holdout's: the programme plays the pipeline, so the lift compares like with like."""
    (row,) = demo.query(
        """
        select
            count(*) as sends,
            count(triggers.send_key) as triggers,
            count(case when triggers.is_holdout then 1 end) as held_out
        from email.send_ledger as ledger
        left join marts.fct_email_triggers as triggers
            on ledger.send_key = triggers.send_key
        where ledger.backend = 'demo'
        """
    )
    assert row["sends"] > 10_000
    assert row["triggers"] == row["sends"]
    assert row["held_out"] == 0


def test_make_demo_finds_the_planted_effect_and_no_other(demo):
    """The demo's months of nudges bring inactive users back (the planted effect): the 95%
    interval of the lift in active days after a nudge lies above 0. Nothing was planted for the
    weekly report, sent as many months to as many users, nor between the nudge's variants:
    their intervals cover 0."""
    nudge = demo.lift("inactive_nudge", "active_days_7d")
    assert nudge["has_enough_data"], nudge
    assert 0 < nudge["lift_ci_low"] < nudge["lift"] < nudge["lift_ci_high"], nudge
    assert nudge["verdict"] == "higher"

    report = demo.lift("weekly_report", "active_days_7d")
    assert report["has_enough_data"], report
    assert report["lift_ci_low"] < 0 < report["lift_ci_high"], report
    assert report["verdict"] == "no clear difference"

    # the nudge's two variants (seed email_variants) had the same effect planted: an A/A test
    (variants,) = demo.query(
        "select * from marts.fct_email_variant_lift where trigger_type = 'inactive_nudge' "
        "and locale = 'all' and outcome = 'active_days_7d' and variant_id = 'control' "
        "and compared_with <> 'holdout'"
    )
    assert variants["has_enough_data"], variants
    assert variants["lift_ci_low"] < 0 < variants["lift_ci_high"], variants

    # the clicks on the nudge's button are the webhook's events of the simulated sends: the
    # holdout, never e-mailed, clicked nothing
    clicks = demo.lift("inactive_nudge", "cta_clicked_7d")
    assert clicks["holdout_mean"] == 0 < clicks["treated_mean"]
    assert re.search(r"inactive_nudge .*│ +higher", demo.stdout), "the summary shows the lift"
