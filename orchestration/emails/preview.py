"""Previews of every e-mail, as a browsable gallery to sign e-mails off with: each template in
each supported language, for sample payloads.

`flywheel preview [--out DIR]` writes one `.html` and `.txt` file per message (every variant of
an e-mail, seed email_variants, as its own template `<trigger>__<variant>`), an inbox view
(`index.html`: sender, subject and preheader with their lengths) and a page per sample with its
languages side by side (`gallery.py`). The samples are real e-mails of the warehouse when it
has some (per trigger type, its typical and extreme ones: `real_payloads.py`), else the fixed
payloads of `preview_fixtures/` (what they cover is written there); `--send-key` and `--user`
preview real e-mails of one reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from orchestration.emails.gallery import write_gallery
from orchestration.emails.groups import trigger_calls_to_action, trigger_types
from orchestration.emails.i18n import negotiate_locale
from orchestration.emails.message import RenderedEmail
from orchestration.emails.real_payloads import (
    WarehouseUnavailable,
    for_preview,
    sample_payloads_by_trigger,
)
from orchestration.emails.render import render_email
from orchestration.emails.variants import email_variants
from orchestration.settings import Settings

PREVIEW_LOCALES = ("en", "fr", "ru")  # the supported locales; any other falls back to en

FIXTURES_DIR = Path(__file__).parent / "preview_fixtures"
# numeric(28, 6) in email.rpt_email_payloads: the warehouse gives a Decimal, so do the fixtures.
DECIMAL_COLUMNS = ("detail_value",)


@cache
def _read_fixture(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES_DIR / name).read_text(encoding="utf-8"))


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    return {
        column: Decimal(str(value)) if column in DECIMAL_COLUMNS and value is not None else value
        for column, value in values.items()
    }


def base_payload() -> dict[str, Any]:
    """The sample payload every scenario starts from (`preview_fixtures/payload.yaml`): one row
    with every column of email.rpt_email_payloads, in its order."""
    return _typed(_read_fixture("payload.yaml"))


def scenarios() -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Per trigger type, its (scenario, description, changes to the base payload) from
    `preview_fixtures/scenarios.yaml`: the changes of its variants in order, then its own."""
    fixture = _read_fixture("scenarios.yaml")
    variants = fixture["variants"]

    def changes(entry: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for variant in entry.get("variants", []):
            values.update(variants[variant])
        values.update(entry.get("payload", {}))
        return _typed(values)

    return {
        template: [(entry["scenario"], entry["description"], changes(entry)) for entry in entries]
        for template, entries in fixture["scenarios"].items()
    }


@dataclass(frozen=True)
class Sample:
    """One payload the gallery shows, rendered in every preview locale."""

    template: str
    scenario: str
    description: str
    payload: dict[str, Any]
    source: str = "fixture"  # or "warehouse": a real e-mail, its address replaced


@dataclass(frozen=True)
class Preview:
    template: str
    scenario: str
    description: str
    locale: str  # as asked; the e-mail's own locale says what it was rendered in
    email: RenderedEmail
    source: str = "fixture"
    reader_locale: str | None = None  # a real e-mail's own locale

    @property
    def stem(self) -> str:
        return f"{self.template}--{self.scenario}--{self.locale}"


def sample_payloads() -> list[tuple[str, str, dict[str, Any]]]:
    """(scenario, description, payload) for every template and scenario, in English."""
    samples = []
    calls_to_action = trigger_calls_to_action()
    for template in trigger_types():
        for scenario, description, overrides in scenarios()[template]:
            payload = {
                **base_payload(),
                **overrides,
                **calls_to_action[template],
                "template": template,
                "trigger_type": template,
                "send_key": f"usr_preview:{template}:{scenario}",
            }
            samples.append((scenario, description, payload))
    return samples


def fixture_samples() -> list[Sample]:
    """The fixed sample payloads (`preview_fixtures/`), every template and variant."""
    return every_variant(
        [
            Sample(payload["template"], scenario, description, payload)
            for scenario, description, payload in sample_payloads()
        ]
    )


def gallery_name(payload: dict[str, Any]) -> str:
    """The name a payload's e-mail has in the gallery: its trigger type when it renders the
    trigger type's own template, `<trigger>__<variant>` when its variant has one of its own."""
    if payload["template"] == payload["trigger_type"]:
        return payload["trigger_type"]
    return f"{payload['trigger_type']}__{payload['variant_id']}"


def every_variant(samples: list[Sample]) -> list[Sample]:
    """Each sample of a trigger type once per variant of its e-mail (seed email_variants),
    named by `gallery_name`."""
    variant_samples = []
    for sample in samples:
        for variant in email_variants()[sample.payload["trigger_type"]]:
            payload = {
                **sample.payload,
                "variant_id": variant.variant_id,
                "template": variant.template,
            }
            variant_samples.append(
                Sample(
                    gallery_name(payload),
                    sample.scenario,
                    sample.description,
                    payload,
                    sample.source,
                )
            )
    return variant_samples


def gallery_samples(settings: Settings) -> tuple[list[Sample], str]:
    """The gallery's samples and where they come from: per trigger type, its typical and
    extreme real e-mails when the warehouse (FLYWHEEL_WAREHOUSE) has some, else the fixtures."""
    fixtures = fixture_samples()
    try:
        real = sample_payloads_by_trigger(settings.warehouse, trigger_types())
    except WarehouseUnavailable as reason:
        return fixtures, f"fixed sample payloads ({reason})"
    samples = []
    for template in trigger_types():
        if template in real:
            samples += every_variant(
                [
                    Sample(template, r.case, r.description, r.payload, "warehouse")
                    for r in real[template]
                ]
            )
        else:
            samples += [sample for sample in fixtures if sample.template == template]
    missing = [t for t in trigger_types() if t not in real]
    note = f"real e-mails of {settings.warehouse} (addresses replaced)"
    if missing:
        note += f"; fixed sample payloads for {', '.join(missing)} (none in the warehouse)"
    return samples, note


def real_samples(payloads: list[dict[str, Any]]) -> list[Sample]:
    """Samples of real payload rows (`flywheel preview --send-key/--user`), addresses
    replaced; each is named after the day it was triggered on."""
    return [
        Sample(
            gallery_name(payload),
            str(payload["triggered_on"]),
            f"{payload['send_key']} (the reader's language: {payload['locale']})",
            for_preview(payload),
            "warehouse",
        )
        for payload in payloads
    ]


def render_previews(settings: Settings, samples: list[Sample] | None = None) -> list[Preview]:
    """Every sample (default: the fixtures) in every preview locale."""
    previews = []
    for sample in fixture_samples() if samples is None else samples:
        reader_locale = (
            negotiate_locale(sample.payload["locale"]) if sample.source == "warehouse" else None
        )
        for locale in PREVIEW_LOCALES:
            email = render_email({**sample.payload, "locale": locale}, settings)
            previews.append(
                Preview(
                    sample.template,
                    sample.scenario,
                    sample.description,
                    locale,
                    email,
                    sample.source,
                    reader_locale,
                )
            )
    return previews


def build_previews(
    out_dir: Path,
    settings: Settings,
    samples: list[Sample] | None = None,
    source_note: str | None = None,
) -> Path:
    """Write every preview of `samples` (default: `gallery_samples`) and the gallery into
    `out_dir`; return the gallery's path (its inbox view)."""
    if samples is None:
        samples, source_note = gallery_samples(settings)
    previews = render_previews(settings, samples)
    return write_gallery(out_dir, previews, settings, source_note or "fixed sample payloads")
