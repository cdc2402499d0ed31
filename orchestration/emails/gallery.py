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

from jinja2 import Environment, select_autoescape

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


_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px;
       color: #1f2937; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
a { color: #1d4ed8; }
.muted { color: #4b5563; font-size: 13px; }
.flag { color: #b91c1c; font-weight: 600; }
"""

_INBOX = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flywheel e-mail previews: inbox view</title>
<style>"""
    + _STYLE
    + """
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #e5e7eb; padding: 6px 8px; text-align: left; vertical-align: top;
         font-size: 14px; }
th { background: #f9fafb; }
.sample { width: 30%; }
.inbox-line { max-width: 420px; }
.inbox-line .from { font-weight: 700; }
.inbox-line .subject { font-weight: 600; }
.inbox-line .preheader { color: #4b5563; }
.cut { color: #9ca3af; text-decoration: line-through; }
.length { white-space: nowrap; text-align: right; }
.reader { font-size: 12px; background: #e0e7ff; border-radius: 4px; padding: 0 4px; }
</style>
</head>
<body>
<h1>Flywheel e-mail previews: inbox view</h1>
<p class="muted">{{ samples|length }} sample(s) × {{ locales|join(", ") }}: {{ previews_count }}
messages, from {{ source_note }}. Sender: {{ from_name }} &lt;{{ from_email }}&gt;. Open a
sample's languages side by side at phone and desktop widths, or each e-mail alone.</p>
<p class="muted">Limits: a subject over {{ subject_max }} characters or a preheader over
{{ preheader_max }} is cut off in most inboxes (the part cut off is struck through); a preheader
under {{ preheader_min }} leaves the preview line half empty.</p>
<nav class="muted">{% for template in templates %}<a href="#{{ template }}">{{ template }}</a>
{% endfor %}</nav>
{% for template in templates %}
<h2 id="{{ template }}">{{ template }}</h2>
<table class="inbox">
  <tr><th>sample</th><th>language</th><th>as an inbox lists it</th><th>subject</th>
    <th>preheader</th><th>open</th></tr>
  {% for sample in by_template[template] %}
  {% for p in sample.previews %}{% set line = inbox[p.stem] %}
  <tr class="message" data-stem="{{ p.stem }}" data-subject-chars="{{ line.subject_chars }}"
      data-preheader-chars="{{ line.preheader_chars }}">
    {% if loop.first %}
    <td class="sample" rowspan="{{ sample.previews|length }}"><strong>{{ sample.scenario }}</strong>
      <span class="muted">{{ sample.description }}</span><br>
      <a class="side-by-side" href="{{ sample.page }}">languages side by side</a></td>
    {% endif %}
    <td>{{ p.locale }}{% if p.locale == p.reader_locale %}
      <span class="reader">the reader's</span>{% endif %}</td>
    <td class="inbox-line" lang="{{ p.email.locale }}">
      <div class="from">{{ from_name }}</div>
      <div class="subject">{{ line.subject[:subject_max] }}<span class="cut">
        {{- line.subject[subject_max:] }}</span></div>
      <div class="preheader">{{ line.preheader[:preheader_max] }}<span class="cut">
        {{- line.preheader[preheader_max:] }}</span></div>
    </td>
    <td class="length subject-chars">{{ line.subject_chars }}{% if line.subject_flag %}
      <span class="flag">⚠ {{ line.subject_flag }}</span>{% endif %}</td>
    <td class="length preheader-chars">{{ line.preheader_chars }}{% if line.preheader_flag %}
      <span class="flag">⚠ {{ line.preheader_flag }}</span>{% endif %}</td>
    <td><a class="email" href="{{ p.stem }}.html">HTML</a> ·
      <a class="text" href="{{ p.stem }}.txt">text</a></td>
  </tr>
  {% endfor %}
  {% endfor %}
</table>
{% endfor %}
</body>
</html>
"""
)

_SIDE_BY_SIDE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ sample.template }} · {{ sample.scenario }}: languages side by side</title>
<style>"""
    + _STYLE
    + """
body { margin: 16px; }
{% for name, px in widths.items() %}body.{{ name }} { --frame-width: {{ px }}px; }
{% endfor %}
.widths button { font: inherit; padding: 4px 10px; border: 1px solid #9ca3af; background: #fff;
                 border-radius: 4px; cursor: pointer; }
.widths button[aria-pressed="true"] { background: #1f2937; color: #fff; }
.frames { display: flex; gap: 16px; align-items: flex-start; margin-top: 12px; }
figure { margin: 0; width: var(--frame-width); flex: none; }
figcaption { font-size: 13px; margin-bottom: 6px; min-height: 3.6em; }
iframe { box-sizing: content-box; width: var(--frame-width); height: 80vh; min-height: 560px;
         border: 1px solid #d1d5db; background: #fff; }
</style>
</head>
<body class="mobile">
<p class="muted"><a href="../index.html#{{ sample.template }}">← inbox view</a>
{% if previous %} · <a href="../{{ previous.page }}">←
  {{ previous.template }} · {{ previous.scenario }}</a>{% endif %}
{% if next %} · <a href="../{{ next.page }}">
  {{ next.template }} · {{ next.scenario }} →</a>{% endif %}</p>
<h1>{{ sample.template }} · {{ sample.scenario }}</h1>
<p class="muted">{{ sample.description }}</p>
<div class="widths" role="group" aria-label="Width">
  {% for name, px in widths.items() %}
  <button type="button" data-width="{{ name }}"
    aria-pressed="{{ 'true' if loop.first else 'false' }}">
    {{ name|capitalize }} · {{ px }} px</button>
  {% endfor %}
</div>
<div class="frames">
  {% for p in sample.previews %}{% set line = inbox[p.stem] %}
  <figure data-locale="{{ p.locale }}">
    <figcaption lang="{{ p.email.locale }}"><strong>{{ p.locale }}</strong>
      <a href="../{{ p.stem }}.html">{{ line.subject }}</a>
      <span class="muted">{{ line.preheader }}</span></figcaption>
    <iframe src="../{{ p.stem }}.html" title="{{ p.locale }}: {{ line.subject }}"></iframe>
  </figure>
  {% endfor %}
</div>
<script>
function showWidth(name) {
  document.body.className = name;
  for (const button of document.querySelectorAll("button[data-width]")) {
    button.setAttribute("aria-pressed", String(button.dataset.width === name));
  }
  try { history.replaceState(null, "", "#" + name); } catch (error) { /* file: URLs */ }
}
for (const button of document.querySelectorAll("button[data-width]")) {
  button.addEventListener("click", () => showWidth(button.dataset.width));
}
showWidth(location.hash === "#desktop" ? "desktop" : "mobile");
</script>
</body>
</html>
"""
)


def _environment() -> Environment:
    return Environment(autoescape=select_autoescape(default_for_string=True), trim_blocks=True)


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

    side_by_side = env.from_string(_SIDE_BY_SIDE)
    for number, sample in enumerate(samples):
        page = side_by_side.render(
            sample=sample,
            previous=samples[number - 1] if number else None,
            next=samples[number + 1] if number + 1 < len(samples) else None,
            inbox=inbox,
            widths=WIDTHS,
        )
        (out_dir / sample.page).write_text(page, encoding="utf-8")

    index = env.from_string(_INBOX).render(
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
