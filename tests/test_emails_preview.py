"""The preview gallery of the fixed samples, opened in headless Chromium: every page renders,
in its language, with nothing left over from the templates, and fits a 375 px phone without
scrolling sideways; the inbox view lists every message with its subject, preheader and their
lengths; the side-by-side pages show the three languages at 375 and 800 px. Screenshots are
kept in the test's temporary directory."""

import re
from pathlib import Path

import duckdb
import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from orchestration.emails.gallery import (
    PREHEADER_MAX_CHARS,
    PREHEADER_MIN_CHARS,
    SUBJECT_MAX_CHARS,
    InboxLine,
)
from orchestration.emails.groups import trigger_types
from orchestration.emails.i18n import catalog_path, negotiate_locale
from orchestration.emails.preview import (
    PREVIEW_LOCALES,
    build_previews,
    fixture_samples,
    gallery_samples,
    real_samples,
    render_previews,
    sample_payloads,
)
from orchestration.emails.variants import email_variants
from orchestration.settings import Settings
from tests.browser import PNG_SIGNATURE, distinct_colours, png_size

# Words of every e-mail in each language (the footer's unsubscribe link).
UNSUBSCRIBE = {"en": "Unsubscribe", "fr": "Se désabonner", "ru": "Отписаться"}


def _english_sentences() -> list[str]:
    """The catalog's English messages of three words or more, without their placeholders:
    none may appear on a French or Russian page."""
    with catalog_path("en").open("rb") as f:
        catalog = read_po(f, locale="en")
    sentences = []
    for message in catalog:
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            for part in re.split(r"%\(\w+\)s", text):
                part = part.strip(" .,:!")
                if len(part.split()) >= 3:
                    sentences.append(part)
    return sentences


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("previews")
    index = build_previews(out, Settings(), fixture_samples(), "fixed sample payloads")
    assert index == out / "index.html"
    return out


def test_gallery_has_every_template_locale_and_sample(gallery):
    expected = len(fixture_samples()) * len(PREVIEW_LOCALES)
    assert len(list(gallery.glob("*--*.html"))) == expected
    assert len(list(gallery.glob("*--*.txt"))) == expected
    index = (gallery / "index.html").read_text(encoding="utf-8")
    for template in trigger_types():
        assert f'id="{template}"' in index
    assert index.count('class="email"') == expected
    assert len(list((gallery / "locales").glob("*.html"))) == len(fixture_samples())
    for text in gallery.glob("*--*.txt"):
        assert text.read_text(encoding="utf-8").strip()


def test_every_variant_has_its_own_messages_with_its_own_subject(gallery):
    """Each variant with a template of its own is a template of the gallery, in every
    locale, whose subject differs from its trigger type's own for the same sample."""
    index = (gallery / "index.html").read_text(encoding="utf-8")
    previews = {p.stem: p.email for p in render_previews(Settings(), fixture_samples())}
    variants = [
        variant
        for variants in email_variants().values()
        for variant in variants
        if variant.has_own_template
    ]
    assert variants, "seed email_variants has no variant with a template of its own"
    for variant in variants:
        name = f"{variant.trigger_type}__{variant.variant_id}"
        assert f'id="{name}"' in index
        stems = [stem for stem in previews if stem.startswith(f"{name}--")]
        assert {stem.rsplit("--", 1)[1] for stem in stems} == set(PREVIEW_LOCALES)
        for stem in stems:
            control = previews[stem.replace(name, variant.trigger_type, 1)]
            assert previews[stem].variant_id == variant.variant_id
            assert previews[stem].subject != control.subject, stem
            assert f'href="{stem}.html"' in index, stem
            page = (gallery / f"{stem}.html").read_text(encoding="utf-8")
            assert f"<title>{escape(previews[stem].subject)}</title>" in page, stem


PAGE_FACTS = """() => ({
    text: document.body.innerText,
    lang: document.documentElement.lang,
    width: document.documentElement.scrollWidth,
})"""


def test_every_preview_renders_in_chromium(gallery, browser):
    english = _english_sentences()
    assert len(english) > 50
    page = browser.new_page(viewport={"width": 375, "height": 740})

    page.goto((gallery / "index.html").as_uri())
    links = page.eval_on_selector_all("a.email", "links => links.map(a => a.getAttribute('href'))")
    assert len(links) == len(fixture_samples()) * len(PREVIEW_LOCALES)

    for href in links:
        stem = href.removesuffix(".html")
        lang = negotiate_locale(stem.rsplit("--", 1)[1])
        page.set_viewport_size({"width": 375, "height": 740})
        page.goto((gallery / href).as_uri(), wait_until="domcontentloaded")
        facts = page.evaluate(PAGE_FACTS)

        body = facts["text"]
        assert len(body) > 200, href
        for leftover in ("undefined", "None", "NaN", "{{", "{%", "{#", "%("):
            assert leftover not in body, (href, leftover)
        assert facts["lang"] == lang, href
        assert UNSUBSCRIBE[lang] in body, href
        if lang != "en":
            untranslated = [s for s in english if s in body]
            assert not untranslated, (href, untranslated)
        assert facts["width"] <= 375, f"{href} scrolls sideways at 375 px ({facts['width']} px)"

        page.screenshot(path=gallery / f"{stem}--375.png", full_page=True)
        page.set_viewport_size({"width": 800, "height": 900})
        page.screenshot(path=gallery / f"{stem}--800.png", full_page=True)

    for href in links:
        for width in (375, 800):
            png = gallery / f"{href.removesuffix('.html')}--{width}.png"
            data = png.read_bytes()
            assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, png


def test_every_fixture_holds_together():
    """A sample that contradicts itself ("21 days in a row / Longest streak: 12 days") gets a
    wrong e-mail approved."""
    for scenario, description, payload in sample_payloads():
        where = (payload["template"], scenario, description)
        current, longest = payload["current_streak_days"], payload["longest_streak_days"]
        if current is not None and longest is not None:
            assert longest >= current, where
        if payload["trigger_type"] == "inactive_nudge":
            assert not current, where  # an inactive reader has no streak running
        if payload["trigger_type"] == "streak_milestone":
            assert payload["detail_value"] == current, where


@pytest.mark.parametrize(
    ("subject", "preheader", "subject_flag", "preheader_flag"),
    [
        ("s" * SUBJECT_MAX_CHARS, "p" * PREHEADER_MIN_CHARS, None, None),
        ("s" * (SUBJECT_MAX_CHARS + 1), "p" * PREHEADER_MAX_CHARS, "over 60", None),
        ("short", "p" * (PREHEADER_MAX_CHARS + 1), None, "over 100"),
        ("Ваша неделя", "p" * (PREHEADER_MIN_CHARS - 1), None, "under 40"),
    ],
)
def test_inbox_limits(subject, preheader, subject_flag, preheader_flag):
    line = InboxLine(subject, preheader)
    assert (line.subject_flag, line.preheader_flag) == (subject_flag, preheader_flag)


INBOX_ROWS = """() => [...document.querySelectorAll("tr.message")].map(row => ({
    stem: row.dataset.stem,
    subject: row.querySelector(".inbox-line .subject").innerText,
    preheader: row.querySelector(".inbox-line .preheader").innerText,
    sender: row.querySelector(".inbox-line .from").innerText,
    subjectChars: row.querySelector(".subject-chars").innerText,
    preheaderChars: row.querySelector(".preheader-chars").innerText,
}))"""


def test_inbox_view_lists_every_message_with_its_lengths(gallery, browser):
    expected = {p.stem: p.email for p in render_previews(Settings(), fixture_samples())}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((gallery / "index.html").as_uri())
    rows = page.evaluate(INBOX_ROWS)
    assert sorted(row["stem"] for row in rows) == sorted(expected)
    flagged = 0
    for row in rows:
        email = expected[row["stem"]]
        assert row["sender"] == Settings().from_name
        assert row["subject"] == email.subject and email.subject, row
        assert row["preheader"] == email.preheader and email.preheader, row
        line = InboxLine(email.subject, email.preheader)
        for shown, chars, flag in (
            (row["subjectChars"], line.subject_chars, line.subject_flag),
            (row["preheaderChars"], line.preheader_chars, line.preheader_flag),
        ):
            assert shown.split()[0] == str(chars), row
            assert ("⚠" in shown) == (flag is not None), row
            flagged += flag is not None
    assert flagged, "no sample breaks an inbox limit: the flags are not shown anywhere"

    png = gallery / "inbox-view.png"
    page.screenshot(path=png, full_page=True)
    data = png.read_bytes()
    assert png_size(data)[0] == 1280 and png_size(data)[1] > 2000
    assert distinct_colours(browser, data) > 50, "the inbox view screenshot is blank"
    page.close()


FRAMES = """() => [...document.querySelectorAll("figure")].map(figure => ({
    locale: figure.dataset.locale,
    width: figure.querySelector("iframe").clientWidth,
}))"""

FRAME_FACTS = """() => ({
    text: document.body.innerText,
    lang: document.documentElement.lang,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
})"""


def test_side_by_side_pages_show_every_language_at_both_widths(gallery, browser):
    index = browser.new_page(viewport={"width": 1280, "height": 900})
    index.goto((gallery / "index.html").as_uri())
    pages = index.eval_on_selector_all(
        "a.side-by-side", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(pages) == len(fixture_samples())
    index.close()

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    first_of_each_template = {href.split("--")[0]: href for href in reversed(pages)}
    for href in first_of_each_template.values():
        page.goto((gallery / href).as_uri())
        for width_name, px in (("mobile", 375), ("desktop", 800)):
            if width_name == "desktop":
                page.click("button[data-width=desktop]")
            assert page.evaluate("document.body.className") == width_name
            frames = page.evaluate(FRAMES)
            assert [f["locale"] for f in frames] == list(PREVIEW_LOCALES), href
            assert all(f["width"] == px for f in frames), (href, frames)
            for figure in page.query_selector_all("figure"):
                lang = figure.get_attribute("data-locale")
                facts = figure.query_selector("iframe").content_frame().evaluate(FRAME_FACTS)
                assert facts["lang"] == lang, (href, lang)
                assert UNSUBSCRIBE[lang] in facts["text"] and len(facts["text"]) > 200
                assert facts["scrollWidth"] <= facts["clientWidth"] == px, (href, lang, facts)
            png = gallery / f"{href.removesuffix('.html')}--{width_name}.png"
            page.screenshot(path=png)
            data = png.read_bytes()
            assert png_size(data) == (1300, 1000)
            assert distinct_colours(browser, data) > 50, f"{png} is blank"

    # The address chooses the width, so a link can open the desktop variant.
    page.goto((gallery / pages[0]).as_uri() + "#desktop")
    assert page.evaluate(FRAMES)[0]["width"] == 800
    page.close()


def test_without_a_warehouse_the_gallery_shows_the_fixtures_and_says_why(tmp_path):
    missing = Settings(_env_file=None, FLYWHEEL_WAREHOUSE=str(tmp_path / "none.duckdb"))
    samples, note = gallery_samples(missing)
    assert samples == fixture_samples()
    assert "fixed sample payloads" in note and "no warehouse at" in note

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    samples, note = gallery_samples(Settings(_env_file=None, FLYWHEEL_WAREHOUSE=str(empty)))
    assert samples == fixture_samples()
    assert "has no email.rpt_email_payloads" in note


def test_a_real_email_of_a_variant_is_previewed_under_the_variants_name(tmp_path):
    """`flywheel preview --send-key`: a payload whose template is a variant's is named
    `<trigger>__<variant>`, not after the template's path."""
    sample = next(s for s in fixture_samples() if "__" in s.template)
    real_address = "alex.real@customer.example"
    payload = {**sample.payload, "triggered_on": "2026-03-02", "email": real_address}
    (real,) = real_samples([payload])
    assert real.template == sample.template and "/" not in real.template
    assert real.payload["email"] != real_address
    build_previews(tmp_path, Settings(), [real], "one e-mail")
    for locale in PREVIEW_LOCALES:
        assert (tmp_path / f"{sample.template}--2026-03-02--{locale}.html").is_file()
