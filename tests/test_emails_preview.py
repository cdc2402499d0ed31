"""The preview gallery, opened in headless Chromium: every page renders, in its language,
with nothing left over from the templates, and fits a 375 px phone without scrolling
sideways. Screenshots at 375 and 800 px are kept in the test's temporary directory."""

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from orchestration.emails.i18n import catalog_path, negotiate_locale
from orchestration.emails.preview import PREVIEW_LOCALES, build_previews, sample_payloads
from orchestration.emails.render import TRIGGER_TEMPLATES
from orchestration.settings import Settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PNG_SIGNATURE

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
    index = build_previews(out, Settings())
    assert index == out / "index.html"
    return out


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_gallery_has_every_template_locale_and_sample(gallery):
    expected = len(sample_payloads()) * len(PREVIEW_LOCALES)
    assert len(list(gallery.glob("*--*.html"))) == expected
    assert len(list(gallery.glob("*--*.txt"))) == expected
    index = (gallery / "index.html").read_text(encoding="utf-8")
    for template in TRIGGER_TEMPLATES:
        assert f'id="{template}"' in index
    assert index.count('.html">') == expected
    for text in gallery.glob("*--*.txt"):
        assert text.read_text(encoding="utf-8").strip()


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
    links = page.eval_on_selector_all(
        "a[href$='.html']", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) == len(sample_payloads()) * len(PREVIEW_LOCALES)

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
