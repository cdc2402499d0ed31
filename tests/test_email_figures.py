"""Numbers that never embarrass: every payload of the demo data, rendered in every locale,
shows no zero figure, no hole, no negative number and no runaway percentage, and carries a
call to action; its subject and preheader carry the e-mail's own figure."""

import re

import duckdb
import pytest

from orchestration.emails.i18n import SUPPORTED_LOCALES
from orchestration.emails.render import render_email
from orchestration.settings import Settings

URL = re.compile(r"https?://\S+")
# A figure that is zero: "0 tasks", "0 %", "0,0 heure" (not 10, 0.5 or 1,0)
ZERO = re.compile(r"(?<![\d.,:/])0(?:[.,]0+)?(?![\d.,:/])")
HOLE = re.compile(r"\b(None|nan|NaN|NaT|null)\b")
NEGATIVE = re.compile(r"(?<![\w\-–])[-−]\s?\d")
PERCENT = re.compile(r"(\d[\d\s,.\u00a0\u202f]*)\s?%")
MAX_PERCENT = 200  # comparisons above max_comparison_pct are shown as a multiple


def _percent(figure: str) -> float:
    digits = re.sub(r"[\s\u00a0\u202f]", "", figure).replace(",", ".")
    return float(digits.rstrip("."))


@pytest.fixture(scope="module")
def payloads(demo_pipeline) -> list[dict]:
    with duckdb.connect(str(demo_pipeline.warehouse), read_only=True) as con:
        frame = con.execute("select * from email.rpt_email_payloads").df()
    return frame.to_dict("records")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_payload_renders_without_embarrassing_figures(payloads, locale):
    assert len(payloads) > 1000
    settings = Settings()
    problems = []
    for payload in payloads:
        email_ = render_email({**payload, "locale": locale}, settings)
        text = URL.sub("", email_.text)
        found = [
            f"{name}: {match.group(0)!r}"
            for name, pattern in (("zero", ZERO), ("hole", HOLE), ("negative", NEGATIVE))
            for match in pattern.finditer(text)
        ]
        found += [
            f"percentage: {match.group(0)!r}"
            for match in PERCENT.finditer(text)
            if _percent(match.group(1)) > MAX_PERCENT
        ]
        if not re.search(r"utm_content=", email_.html):
            found.append("no call to action")
        if found:
            problems.append((payload["send_key"], found))
    assert problems == [], problems[:10]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_inbox_line_carries_the_emails_figure(payloads, locale):
    """What the inbox shows (subject, preheader) says the e-mail's own number ("42 tasks this
    week", "10 days"), or the level or badge reached: no fixed line promising what the
    e-mail may not hold."""
    settings = Settings()
    problems = []
    for payload in payloads:
        email_ = render_email({**payload, "locale": locale}, settings)
        inbox_line = f"{email_.subject} {email_.preheader}"
        if not email_.preheader or not (
            re.search(r"\d", inbox_line)
            or payload["trigger_type"] == "level_up"
            or payload["detail_badge"] is not None
        ):
            problems.append((payload["send_key"], inbox_line))
    assert problems == [], problems[:10]
