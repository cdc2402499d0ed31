"""Inline the e-mails' CSS once per template, when Jinja loads it, instead of once per e-mail.

The HTML templates keep their CSS in the `<style>` block of the layout and `class`
attributes, as written. `InliningLoader` hands Jinja each `.html` template with that CSS
already inlined by css-inline: the Jinja tags are first swapped for placeholders the HTML
parser keeps in place (a comment between elements, a plain token inside an attribute value
or the `<title>`), the markup is inlined (a whole document for the layout, a fragment with
the layout's CSS for the other templates), and the tags are put back. Rendering then costs
no inlining at all (css-inline on each ~9 kB message took about 0.3 ms, more than the whole
render budget of 2,000 e-mails a second allows next to Jinja).

Two rules keep this exact (`tests/test_emails_render.py` compares the result with inlining
the rendered e-mail): Jinja inside a tag only in a quoted attribute value, never in `class`
(the inliner would apply a conditional class unconditionally). Both are checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import css_inline
from jinja2 import BaseLoader, Environment, FileSystemLoader, TemplateSyntaxError

_JINJA_TAG = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_LAST_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^<>]*>?$")
_RAW_TEXT_ELEMENTS = {"title", "style", "script", "textarea"}
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def _token(index: int) -> str:
    return f"@@J{index}@@"


def protect(source: str, name: str = "<template>") -> tuple[str, list[str]]:
    """Swap every Jinja tag of `source` for a placeholder; return the markup and the tags."""
    tags: list[str] = []
    out: list[str] = []
    last = 0
    for match in _JINJA_TAG.finditer(source):
        out.append(source[last : match.start()])
        built = "".join(out)
        index = len(tags)
        tags.append(match.group(0))
        in_tag = built.rfind("<") > built.rfind(">")
        if in_tag:
            opened = built[built.rfind("<") :]
            if opened.count('"') % 2 == 0:
                raise TemplateSyntaxError(
                    "Jinja inside a tag must be within a quoted attribute value",
                    source[: match.start()].count("\n") + 1,
                    name,
                )
            if re.search(r'\bclass="[^"]*$', opened):
                raise TemplateSyntaxError(
                    "no Jinja in a class attribute: the inliner cannot make a class conditional",
                    source[: match.start()].count("\n") + 1,
                    name,
                )
            out.append(_token(index))
        else:
            last_tag = _LAST_TAG.search(built[built.rfind("<") :]) if "<" in built else None
            in_raw_text = (
                last_tag is not None
                and not last_tag.group(1)
                and last_tag.group(2).lower() in _RAW_TEXT_ELEMENTS
            )
            out.append(_token(index) if in_raw_text else f"<!--{_token(index)}-->")
        last = match.end()
    out.append(source[last:])
    return "".join(out), tags


def restore(markup: str, tags: list[str], name: str = "<template>") -> str:
    """Put the Jinja tags back in place of their placeholders (each exactly once)."""
    for index, tag in enumerate(tags):
        token = _token(index)
        comment = f"<!--{token}-->"
        placeholder = comment if comment in markup else token
        if markup.count(placeholder) != 1:
            raise TemplateSyntaxError(
                f"the CSS inliner moved or dropped the Jinja tag {tag!r}", None, name
            )
        markup = markup.replace(placeholder, tag, 1)
    return markup


def layout_css(layout_source: str) -> str:
    """The CSS of the layout's `<style>` blocks, applied to the fragments too."""
    return "\n".join(_STYLE_BLOCK.findall(layout_source))


class InliningLoader(BaseLoader):
    """A file-system loader that returns `.html` templates with their CSS inlined (once per
    process: the inlined sources are shared by every language's environment)."""

    _cache: dict[tuple[str, float], str] = {}

    def __init__(self, searchpath: Path, layout: str = "layouts/base.html") -> None:
        self._files = FileSystemLoader(searchpath)
        self._layout = layout
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self._css = layout_css((Path(searchpath) / layout).read_text(encoding="utf-8"))

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self._files.get_source(environment, template)
        if not template.endswith(".html") or filename is None:
            return source, filename, uptodate
        key = (filename, Path(filename).stat().st_mtime)
        if key not in self._cache:
            self._cache[key] = self.inline(source, template)
        return self._cache[key], filename, uptodate

    def inline(self, source: str, name: str) -> str:
        markup, tags = protect(source, name)
        if name == self._layout:
            inlined = self._inliner.inline(markup)
        else:
            inlined = self._inliner.inline_fragment(markup, self._css)
        return restore(inlined, tags, name)
