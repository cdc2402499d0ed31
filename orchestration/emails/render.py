"""Render one row of `email.rpt_email_payloads` into a `RenderedEmail`.

A trigger type has two templates under `email_templates/`: `<template>.txt`, the plain-text
e-mail and the copy (its blocks `subject`, `preheader`, `headline` and `lead`), and
`<template>.html`, which lays that copy out with the partials. A variant of its e-mail
(`variants.py`) may have a pair of its own that extends them; the payload's `template` names
the pair to render. One Jinja2 environment per
language is built once per process (`get_renderer()`); templates only format the payload.
The HTML templates' CSS is inlined once, when they are loaded (`inline.InliningLoader`).

The environments' globals, shared by every template: `names` (partials/names.jinja),
`phrases` (partials/phrases.jinja), and the macros of the partials by format, `html`
(partials/*.html) and `text` (partials/*.txt): `{{ html.progress_bar(...) }}`. Phrases and
partials are pure functions of their arguments (and the language), so they are memoized:
the same sentence or card is built once per process, not once per e-mail and format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateRuntimeError,
    nodes,
    select_autoescape,
)
from jinja2.runtime import Macro

from orchestration.emails.groups import email_group
from orchestration.emails.i18n import (
    SUPPORTED_LOCALES,
    TEMPLATES_DIR,
    Formatter,
    load_translations,
    negotiate_locale,
)
from orchestration.emails.inline import InliningLoader
from orchestration.emails.message import RenderedEmail
from orchestration.emails.unsubscribe_token import UnsubscribeTarget, make_token
from orchestration.emails.variants import email_templates
from orchestration.settings import Settings

# The payload columns the renderer and the templates read (a subset of rpt_email_payloads,
# checked against its documentation by the tests). A row without one of them is a bug
# upstream: render_email raises instead of sending a half-empty e-mail.
PAYLOAD_COLUMNS = (
    "send_key",
    "email",
    "first_name",
    "locale",
    "trigger_type",
    "variant_id",
    "template",
    "triggered_on",
    "cta_id",
    "cta_path",
    "detail_metric",
    "detail_value",
    "stage",
    "ladder",
    "level",
    "next_level",
    "progress_pct",
    "remaining_to_next",
    "next_requirement",
    "current_streak_days",
    "longest_streak_days",
    "tasks_mtd",
    "workflows_mtd",
    "reports_mtd",
    "hours_saved_7d",
    "hours_saved_qtd",
    "work_weeks_saved_qtd",
    "account_tasks_this_month",
    "account_pct_vs_cohort_avg",
    "user_pct_vs_team_avg",
    "cohort_scope",
    "account_is_top_percent",
    "account_vs_cohort_is_capped",
    "user_vs_team_is_capped",
    "max_comparison_ratio",
    "user_is_top_percent",
    "top_percent",
    "recommendation_1",
    "recommendation_1_hours_per_week",
    "recommendation_1_cta_id",
    "recommendation_1_app_path",
    "recommendation_2",
    "recommendation_2_hours_per_week",
    "recommendation_2_cta_id",
    "recommendation_2_app_path",
    "week_start",
    "week_end",
    "week_active_days",
    "week_tasks",
    "week_workflows",
    "week_reports",
    "week_hours_saved",
    "previous_best",
    "onboarding_steps_done",
    "onboarding_steps_required",
    "detail_badge",
    "new_badges",
    "next_ladder",
    "next_ladder_next_level",
    "report_month",
    "team_hours_saved_month",
    "team_active_users",
    "team_seats",
    "team_users_implement",
    "team_users_reinforce",
    "team_users_optimize",
    "team_users_expand",
    "top_contributor_1_name",
    "top_contributor_1_hours_saved",
    "top_contributor_1_tasks",
    "top_contributor_2_name",
    "top_contributor_2_hours_saved",
    "top_contributor_2_tasks",
    "top_contributor_3_name",
    "top_contributor_3_hours_saved",
    "top_contributor_3_tasks",
)

COPY_BLOCKS = ("subject", "preheader", "headline", "lead")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")


class PayloadError(KeyError):
    """A payload row lacks a column the e-mails need."""


def _fail(message: str) -> None:
    raise TemplateRuntimeError(message)


def one_line(value: str) -> str:
    """Replace every control character (CR, LF, tab...) and Unicode line break by a space and
    collapse the spaces: a header built from user input can never start a new header.
    No-break spaces (French `Pro !`, Russian `1 000`) are kept."""
    return _SPACES.sub(" ", _CONTROLS.sub(" ", value)).strip()


def unsubscribe_token(settings: Settings, email: str, trigger_type: str, lang: str) -> str:
    """The signed token that unsubscribes `email` from the e-mail group of `trigger_type`."""
    group = email_group(trigger_type)
    if group is None:
        raise ValueError(
            f"trigger type {trigger_type!r} has no e-mail group (seed trigger_priorities.csv)"
        )
    target = UnsubscribeTarget(email=email, group=group, lang=lang)
    return make_token(settings.unsubscribe_secret(), target)


def unsubscribe_url(settings: Settings, token: str) -> str:
    """FLYWHEEL_UNSUBSCRIBE_URL with its `{token}` replaced."""
    return settings.unsubscribe_url.replace("{token}", quote(token, safe=""))


def app_link(app_url: str, path: str, campaign: str, content: str) -> str:
    """A link into the product: `app_url` (FLYWHEEL_APP_URL) + `path` (its own query kept),
    with the UTM parameters that attribute a click to its e-mail (campaign = trigger type) and
    to its call to action (content = the CTA id)."""
    base = urlsplit(app_url.rstrip("/") + path)
    utm = urlencode(
        {
            "utm_source": "flywheel",
            "utm_medium": "email",
            "utm_campaign": campaign,
            "utm_content": content,
        }
    )
    query = f"{base.query}&{utm}" if base.query else utm
    return urlunsplit(base._replace(query=query))


def _is_null(value: Any) -> bool:
    # SQL NULL as it may arrive from DuckDB (None) or from a pandas frame (NaN, NaT, NA).
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _memoize(macro: Macro) -> Callable[..., str]:
    cached = lru_cache(maxsize=4096, typed=True)(macro)

    def call(*args: Any) -> str:
        try:
            hash(args)
        except TypeError:  # e.g. a list of stats: rendered each time
            return macro(*args)
        return cached(*args)

    return call


class MemoizedMacros:
    """The exports of macro modules: macros memoized on their (positional) arguments, other
    values (translated constants) as they are."""

    def __init__(self, *modules: Any) -> None:
        for module in modules:
            for name, value in vars(module).items():
                if not name.startswith("_"):
                    setattr(self, name, _memoize(value) if isinstance(value, Macro) else value)


def _partials(env: Environment, extension: str) -> MemoizedMacros:
    paths = sorted((TEMPLATES_DIR / "partials").glob(f"*.{extension}"))
    return MemoizedMacros(*(env.get_template(f"partials/{p.name}").module for p in paths))


def build_environment(lang: str, inline_css: bool = True) -> Environment:
    """The Jinja2 environment of one language: its gettext catalog, the Babel filters, and
    the macro modules as globals (see the module's docstring). With `inline_css=False` the
    HTML keeps its `<style>` block and classes (for tests and template debugging)."""
    env = Environment(
        loader=InliningLoader(TEMPLATES_DIR) if inline_css else FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    # `{% trans %}` blocks are whitespace-trimmed: the extraction (babel.cfg) does the same.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(load_translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(Formatter(lang).filters())
    env.globals["fail"] = _fail
    env.globals["names"] = env.get_template("partials/names.jinja").module
    env.globals["phrases"] = MemoizedMacros(env.get_template("partials/phrases.jinja").module)
    env.globals["html"] = _partials(env, "html")
    env.globals["text"] = _partials(env, "txt")
    return env


def _concat(chunks: Iterator[str]) -> str:
    return "".join(chunks)


def copy_blocks(env: Environment, name: str) -> dict[str, Callable[..., Iterator[str]]]:
    """The render functions of the copy blocks of the text template `name`: its own, else
    those it inherits (a variant's template extends its trigger type's and overrides some)."""
    blocks: dict[str, Callable[..., Iterator[str]]] = {}
    current: str | None = name
    while current:
        for block, render in env.get_template(current).blocks.items():
            blocks.setdefault(block, render)
        source = env.loader.get_source(env, current)[0]  # type: ignore[union-attr]
        extends = env.parse(source).find(nodes.Extends)
        parent = extends.template if extends else None
        current = parent.value if isinstance(parent, nodes.Const) else None
    missing = [block for block in COPY_BLOCKS if block not in blocks]
    if missing:
        raise ValueError(f"template {name!r} has no block {', '.join(missing)}")
    return {block: blocks[block] for block in COPY_BLOCKS}


class Renderer:
    """Every template of every language, compiled once; `render` is then pure formatting."""

    def __init__(self, inline_css: bool = True) -> None:
        self._templates: dict[tuple[str, str], tuple[Template, Template]] = {}
        self._copy: dict[tuple[str, str], dict[str, Callable[..., Iterator[str]]]] = {}
        self._phrases: dict[str, Any] = {}
        for lang in SUPPORTED_LOCALES:
            env = build_environment(lang, inline_css)
            self._phrases[lang] = env.globals["phrases"]
            for name in email_templates():
                self._templates[lang, name] = (
                    env.get_template(f"{name}.txt"),
                    env.get_template(f"{name}.html"),
                )
                self._copy[lang, name] = copy_blocks(env, f"{name}.txt")

    def render(self, payload: Mapping[str, Any], settings: Settings) -> RenderedEmail:
        missing = [column for column in PAYLOAD_COLUMNS if column not in payload]
        if missing:
            raise PayloadError(
                f"payload {payload.get('send_key')!r} lacks the columns {', '.join(missing)}"
            )
        row = {key: None if _is_null(value) else value for key, value in payload.items()}
        # a list in a text column (comma-separated keys): a tuple, so partials stay memoized
        row["new_badges"] = tuple(row["new_badges"].split(",")) if row["new_badges"] else ()
        lang = negotiate_locale(row["locale"])
        try:
            text_template, html_template = self._templates[lang, row["template"]]
        except KeyError:
            raise ValueError(
                f"payload {row['send_key']!r}: no e-mail template {row['template']!r}"
            ) from None
        token = unsubscribe_token(settings, row["email"], row["trigger_type"], lang)
        url = unsubscribe_url(settings, token)
        campaign = row["trigger_type"]
        context = {
            **row,
            "lang": lang,
            "brand": settings.from_name,
            "unsubscribe_url": url,
            "postal_address": settings.footer_postal_address(),
            "cta_url": app_link(settings.app_url, row["cta_path"], campaign, row["cta_id"]),
            **{
                f"recommendation_{rank}_url": app_link(
                    settings.app_url,
                    row[f"recommendation_{rank}_app_path"],
                    campaign,
                    row[f"recommendation_{rank}_cta_id"],
                )
                if row[f"recommendation_{rank}"] is not None
                else None
                for rank in (1, 2)
            },
        }

        # The copy first (blocks of the .txt template), then both formats around it.
        text_context = text_template.new_context(context)
        copy = {
            block: one_line(_concat(render(text_context)))
            for block, render in self._copy[lang, row["template"]].items()
        }
        copy["greeting"] = self._phrases[lang].greeting(row["first_name"])
        text_context.vars.update(copy)
        text = _BLANK_LINES.sub("\n\n", _concat(text_template.root_render_func(text_context)))
        text = text.strip() + "\n"
        html = html_template.render(context, **copy)

        return RenderedEmail(
            send_key=row["send_key"],
            to_email=row["email"],
            to_name=one_line(row["first_name"] or "") or None,
            subject=copy["subject"],
            html=html,
            text=text,
            trigger_type=row["trigger_type"],
            variant_id=row["variant_id"],
            locale=lang,
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            preheader=copy["preheader"],
        )


@cache
def get_renderer() -> Renderer:
    """The process-wide renderer (building it compiles every template of every language)."""
    return Renderer()


def render_email(payload: Mapping[str, Any], settings: Settings) -> RenderedEmail:
    """Render one payload row (a dict of `email.rpt_email_payloads`) in its language; an
    unknown locale renders in English."""
    return get_renderer().render(payload, settings)
