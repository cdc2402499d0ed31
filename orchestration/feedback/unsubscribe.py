"""The unsubscribe endpoint's logic, served by `flywheel webhook` (see `server.py`).

    GET  <path>?token=T   the preferences page, in the e-mail's language: one checkbox per
                          e-mail group, the e-mail's own group ticked. Changes nothing (link
                          scanners and previews fetch links).
    POST <path>?token=T   `List-Unsubscribe=One-Click` (RFC 8058, sent by mail providers):
                          unsubscribes the address from the e-mail's group, answers 200.
                          Otherwise the page's form: `action=all` (every e-mail, group null)
                          or `action=groups` with one `group=<name>` per ticked box.

The token (`orchestration.emails.unsubscribe_token`) holds the address, the group and the
language, encrypted and signed with FLYWHEEL_SECRET_KEY: a token that does not verify is
refused (403) before anything is read from it. Choices become raw `unsubscribes` rows
(email, unsubscribed_at, group), written as a new file that the next run loads like any
other, so the pipeline honours them the same way.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from orchestration.emails.groups import email_groups
from orchestration.emails.i18n import TEMPLATES_DIR, load_translations, negotiate_locale
from orchestration.emails.unsubscribe_token import (
    InvalidToken,
    UnsubscribeTarget,
    read_token,
)

PAGE_TEMPLATE = "pages/unsubscribe.html"
# A one-click POST or the preferences form: a few hundred bytes.
MAX_FORM_BYTES = 16 * 1024

UnsubscribeRow = dict[str, str | None]


class UnsubscribeRejected(Exception):
    """A request the endpoint refuses, with the HTTP status to answer."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(f"{status.value} {status.phrase}: {reason}")
        self.status = status
        self.reason = reason


def target_from_query(secret: bytes, query: str) -> UnsubscribeTarget:
    """The verified target of the request's `token`; 400 without one, 403 if it is not valid."""
    tokens = parse_qs(query).get("token", [])
    if len(tokens) != 1 or not tokens[0]:
        raise UnsubscribeRejected(HTTPStatus.BAD_REQUEST, "the link has no unsubscribe token")
    try:
        target = read_token(secret, tokens[0])
    except InvalidToken:
        raise UnsubscribeRejected(
            HTTPStatus.FORBIDDEN,
            "this unsubscribe link is not valid (changed or incomplete); "
            "use the link of a recent e-mail",
        ) from None
    if target.group not in email_groups():
        # Signed by us, for a group the seed no longer has: unsubscribe from everything.
        target = UnsubscribeTarget(target.email, "", target.lang)
    return target


def parse_form(body: bytes, content_type: str | None) -> dict[str, list[str]]:
    """A form body, `application/x-www-form-urlencoded` or `multipart/form-data` (RFC 8058
    allows both for the one-click POST)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            raise UnsubscribeRejected(HTTPStatus.BAD_REQUEST, "malformed multipart form")
        fields: dict[str, list[str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                value = part.get_payload(decode=True) or b""
                fields.setdefault(str(name), []).append(value.decode("utf-8", "replace"))
        return fields
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise UnsubscribeRejected(HTTPStatus.BAD_REQUEST, "the form is not UTF-8") from None


def is_one_click(form: dict[str, list[str]]) -> bool:
    return form.get("List-Unsubscribe") == ["One-Click"]


def chosen_groups(form: dict[str, list[str]]) -> list[str | None]:
    """The groups the preferences form unsubscribes from; [None] = every e-mail."""
    if form.get("action") == ["all"]:
        return [None]
    groups = form.get("group", [])
    unknown = sorted(set(groups) - set(email_groups()))
    if unknown:
        raise UnsubscribeRejected(HTTPStatus.BAD_REQUEST, "unknown e-mail group")
    return [group for group in email_groups() if group in groups]


def unsubscribe_rows(
    email_address: str, groups: Iterable[str | None], at: datetime | None = None
) -> list[UnsubscribeRow]:
    """Raw `unsubscribes` rows: one per group (None: every e-mail), all text."""
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [{"email": email_address, "unsubscribed_at": stamp, "group": group} for group in groups]


@cache
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True  # as in the e-mails and the extraction
    env.install_gettext_translations(load_translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_page(target: UnsubscribeTarget, *, brand: str, token: str, **outcome: object) -> str:
    """The preferences page (no `outcome`), or what a POST did (`saved=[...]` or
    `saved=None` for every e-mail, or `nothing_chosen=True`)."""
    lang = negotiate_locale(target.lang)
    template = _environment(lang).get_template(PAGE_TEMPLATE)
    return template.render(
        lang=lang,
        brand=brand,
        email=target.email,
        groups=email_groups(),
        checked=target.group,
        action=f"?token={quote(token, safe='')}",
        **outcome,
    )
