"""Languages for the e-mails: locale negotiation, gettext catalogs and Babel formatting filters.

The catalogs are the `.po` files under `email_templates/locale/<lang>/LC_MESSAGES/`; they are
compiled in memory with Babel the first time a language is used (once per process), so no
binary `.mo` artefact is committed. `email_templates/README.md` has the extraction commands.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_interval
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit

from orchestration.settings import REPO_ROOT

TEMPLATES_DIR = REPO_ROOT / "email_templates"
LOCALE_DIR = TEMPLATES_DIR / "locale"
BABEL_CFG = TEMPLATES_DIR / "babel.cfg"
DOMAIN = "messages"

SUPPORTED_LOCALES = ("en", "fr", "ru")
DEFAULT_LOCALE = "en"

# A non-integer count has CLDR plural category "other" (ru, en) or "one" (fr: 1,5 heure);
# gettext catalogs only know integers, so a fraction picks the form of an integer of the same
# category. In Russian that is the "few" form, the genitive singular: 1,5 часа.
_COUNT_FOR_CATEGORY = {"one": 1, "two": 2, "few": 2, "many": 5, "other": 2, "zero": 0}


def negotiate_locale(value: str | None) -> str:
    """The supported language for a BCP-47 locale: `fr-CA` → `fr`; unknown or empty → `en`."""
    if not value:
        return DEFAULT_LOCALE
    language = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def load_translations(lang: str) -> Translations:
    """The compiled catalog of one supported language (compiled from its `.po`, once)."""
    if lang not in SUPPORTED_LOCALES:
        raise ValueError(
            f"unsupported e-mail language {lang!r}; expected one of {SUPPORTED_LOCALES}"
        )
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(fp=mo, domain=DOMAIN)


def _quantize(value: Any, digits: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def _decimal_pattern(digits: int) -> str:
    return "#,##0." + "#" * digits if digits else "#,##0"


class Formatter:
    """Locale-bound Jinja filters: formatting, rounding and plural choice, never arithmetic
    on the payload's meaning (percentages arrive as 0-100 and are shown as such)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)

    def number(self, value: Any, digits: int = 0) -> str:
        """`1234.56` → `1,234.6` (en), `1 234,6` (fr, ru): at most `digits` decimals."""
        return _format_number(self.lang, value, digits)

    def percent(self, value: Any, digits: int = 0) -> str:
        """A 0-100 percentage: `15.3` → `15%` (en), `15 %` (fr, ru), at most `digits` decimals."""
        ratio = _quantize(value, digits).normalize() / 100
        return format_percent(ratio, locale=self.locale, decimal_quantization=False)

    def date(self, value: dt.date | dt.datetime | str, format: str = "long") -> str:
        """`2026-02-09` → `February 9, 2026` / `9 février 2026` / `9 февраля 2026 г.`."""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        elif isinstance(value, dt.datetime):
            value = value.date()
        return format_date(value, format=format, locale=self.locale)

    def date_range(self, start: dt.date, end: dt.date) -> str:
        """Two days as one range, month and year said once: `Nov 16 – 22, 2026`,
        `16–22 nov. 2026`, `16–22 нояб. 2026 г.` (CLDR interval formats)."""
        return format_interval(start, end, "yMMMd", locale=self.locale)

    def duration(self, hours: Any) -> str:
        """A time saved, in words: `1.5` → `1.5 hours` / `1,5 heure` / `1,5 часа`; under an hour
        in whole minutes (rounded up, so never `0`): `0.4` → `24 minutes`."""
        return _format_duration(self.lang, _quantize(hours, 3))

    def plural_n(self, value: Any, digits: int = 0) -> int:
        """The count that picks the plural form of `value` as shown with `digits` decimals."""
        shown = _quantize(value, digits)
        if shown == shown.to_integral_value():
            return int(shown)
        return _plural_count_for_fraction(self.lang, shown)

    @staticmethod
    def text_bar(progress_pct: Any, width: int = 20) -> str:
        """A 0-100 progress as a plain-text bar: `40` → `[########------------]`."""
        filled = int(_quantize(max(0, min(100, float(progress_pct))) * width / 100, 0))
        return "[" + "#" * filled + "-" * (width - filled) + "]"

    def filters(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "percent": self.percent,
            "date": self.date,
            "plural_n": self.plural_n,
            "duration": self.duration,
            "date_range": self.date_range,
            "text_bar": self.text_bar,
        }


# Payload numbers repeat a lot (small counts, the same hours): Babel formats each once.
@lru_cache(maxsize=65536)
def _format_number(lang: str, value: Any, digits: int) -> str:
    return format_decimal(
        _quantize(value, digits), format=_decimal_pattern(digits), locale=Locale.parse(lang)
    )


@lru_cache(maxsize=4096)
def _format_duration(lang: str, hours: Decimal) -> str:
    if hours < 1:
        minutes = max(1, math.ceil(hours * 60))
        return format_unit(minutes, "duration-minute", length="long", locale=lang)
    shown = _quantize(hours, 1)
    # a whole number takes its own plural form (ru: 5 часов), a fraction the fraction's
    shown = int(shown) if shown == shown.to_integral_value() else shown
    return format_unit(shown, "duration-hour", length="long", format="#,##0.#", locale=lang)


@lru_cache(maxsize=4096)
def _plural_count_for_fraction(lang: str, shown: Decimal) -> int:
    return _COUNT_FOR_CATEGORY[Locale.parse(lang).plural_form(shown)]
