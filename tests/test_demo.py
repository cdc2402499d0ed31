"""`make demo`, the README's first command, run into a temporary folder: it succeeds, its
outbox holds at least one e-mail of every trigger type (weekly reports included), and its
summary ends with one of each to open."""

import email
import re
import shutil
import subprocess
from email import policy
from pathlib import Path
from urllib.parse import unquote, urlsplit

from orchestration.emails.groups import trigger_types
from orchestration.settings import REPO_ROOT

OPEN_LINE = re.compile(r"^ +(\w+) \(([\d,]+)\): (file://\S+)$", re.M)


def test_make_demo_outbox_holds_every_kind_of_email(tmp_path):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster_home" / "dagster.yaml", dagster_home)
    demo = tmp_path / "demo"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "demo",
            f"DEMO_DIR={demo}",
            f"DAGSTER_HOME={dagster_home}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=2400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    triggers = set()
    for eml in (demo / "outbox").glob("*.eml"):
        with eml.open("rb") as file:
            triggers.add(
                email.message_from_binary_file(file, policy=policy.default)["X-Flywheel-Trigger"]
            )
    assert triggers == set(trigger_types())

    to_open = {
        name: Path(unquote(urlsplit(uri).path)) for name, _, uri in OPEN_LINE.findall(result.stdout)
    }
    assert set(to_open) == set(trigger_types())
    for page in to_open.values():
        assert page.parent == demo / "outbox"
        assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert (demo / "previews" / "index.html").exists()
