"""The preview gallery's pages: the rendered e-mails, an inbox view and one page per sample
with its languages side by side.

- `index.html`, the inbox view: per sample and language, the sender, subject and preheader
  as an inbox list shows them, with their lengths in characters, flagged when an inbox cuts
  them off (subject over `SUBJECT_MAX_CHARS`, preheader over `PREHEADER_MAX_CHARS`) or the
  preheader leaves the line half empty (under `PREHEADER_MIN_CHARS`). The part an inbox cuts
  off is greyed out.
- `locales/<template>--<scenario>.html`: the languages next to each other in frames, at a
  phone's width (375 px) or a desktop client's (800 px); `#desktop` in the address opens the
  wider one.
- `<template>--<scenario>--<locale>.html` and `.txt`: each e-mail as it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape

from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.emails.preview import Preview

# Common inbox limits: most clients show about 60 characters of a subject and about 100 of
# a preheader; a preheader under 40 leaves the preview line half empty.
SUBJECT_MAX_CHARS = 60
PREHEADER_MAX_CHARS = 100
PREHEADER_MIN_CHARS = 40
WIDTHS = {"mobile": 375, "desktop": 800}
LOCALES_DIR = "locales"
# The pages' Jinja templates (the inbox view, a sample's languages side by side) and their CSS.
PAGES_DIR = Path(__file__).parent / "gallery_pages"


@dataclass(frozen=True)
class InboxLine:
    """What an inbox list shows of one e-mail, and whether a limit is broken."""

    subject: str
    preheader: str

    @property
    def subject_chars(self) -> int:
        return len(self.subject)

    @property
    def preheader_chars(self) -> int:
        return len(self.preheader)

    @property
    def subject_flag(self) -> str | None:
        if self.subject_chars > SUBJECT_MAX_CHARS:
            return f"over {SUBJECT_MAX_CHARS}"
        return None

    @property
    def preheader_flag(self) -> str | None:
        if self.preheader_chars > PREHEADER_MAX_CHARS:
            return f"over {PREHEADER_MAX_CHARS}"
        if self.preheader_chars < PREHEADER_MIN_CHARS:
            return f"under {PREHEADER_MIN_CHARS}"
        return None


@dataclass(frozen=True)
class GallerySample:
    """One sample's previews, one per language, as the pages show them."""

    template: str
    scenario: str
    description: str
    source: str
    previews: list[Preview]

    @property
    def page(self) -> str:
        return f"{LOCALES_DIR}/{self.template}--{self.scenario}.html"


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(PAGES_DIR), autoescape=select_autoescape(), trim_blocks=True
    )


def group_samples(previews: list[Preview]) -> list[GallerySample]:
    """The previews grouped by sample, in their order."""
    samples: dict[tuple[str, str], GallerySample] = {}
    for preview in previews:
        key = (preview.template, preview.scenario)
        if key not in samples:
            samples[key] = GallerySample(
                preview.template, preview.scenario, preview.description, preview.source, []
            )
        samples[key].previews.append(preview)
    return list(samples.values())


def write_gallery(
    out_dir: Path, previews: list[Preview], settings: Settings, source_note: str
) -> Path:
    """Write the e-mails, the side-by-side pages and the inbox view; return the inbox view."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / LOCALES_DIR).mkdir(exist_ok=True)
    for preview in previews:
        (out_dir / f"{preview.stem}.html").write_text(preview.email.html, encoding="utf-8")
        (out_dir / f"{preview.stem}.txt").write_text(preview.email.text, encoding="utf-8")
    samples = group_samples(previews)
    inbox = {p.stem: InboxLine(p.email.subject, p.email.preheader) for p in previews}
    templates = list(dict.fromkeys(sample.template for sample in samples))
    env = _environment()

    side_by_side = env.get_template("side_by_side.html")
    for number, sample in enumerate(samples):
        page = side_by_side.render(
            sample=sample,
            previous=samples[number - 1] if number else None,
            next=samples[number + 1] if number + 1 < len(samples) else None,
            inbox=inbox,
            widths=WIDTHS,
        )
        (out_dir / sample.page).write_text(page, encoding="utf-8")

    index = env.get_template("inbox.html").render(
        samples=samples,
        previews_count=len(previews),
        locales=list(dict.fromkeys(p.locale for p in previews)),
        templates=templates,
        by_template={t: [s for s in samples if s.template == t] for t in templates},
        inbox=inbox,
        source_note=source_note,
        from_name=settings.from_name,
        from_email=settings.from_email,
        subject_max=SUBJECT_MAX_CHARS,
        preheader_max=PREHEADER_MAX_CHARS,
        preheader_min=PREHEADER_MIN_CHARS,
    )
    index_path = out_dir / "index.html"
    index_path.write_text(index, encoding="utf-8")
    return index_path
