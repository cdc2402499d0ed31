"""Header values that cannot smuggle in another header.

A subject or a display name comes from user data (a first name, a team name). A CR or LF in
it would end the header line and start a new one (`Bcc: ...`) in a MIME message, so every
header value is flattened to one line before any backend uses it; an address or a header name
that is not valid is refused instead, since no rewrite of it would be the intended one.
"""

import re
import unicodedata
from email.errors import HeaderDefect
from email.headerregistry import Address

# Addresses that are certainly valid: dot-separated atoms of letters, digits and _%+-, at a
# domain with at least two labels (a subset of RFC 5322's dot-atom form).
_PLAIN_ADDRESS = re.compile(r"[\w%+-]+(?:\.[\w%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.ASCII)
# RFC 5322 field names: printable US-ASCII except the colon.
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# Headers each backend sets itself; a template cannot replace or add to them.
_RESERVED = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "Sender",
        "Return-Path",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    )
)


class InvalidMessage(ValueError):
    """A message no backend may send as it is (a bad address or header name)."""


def single_line(value: str) -> str:
    """`value` with every line break and control character turned into a single space."""
    if value.isprintable():  # no control character, line or paragraph separator: fast path
        return " ".join(value.split())
    without_controls = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in value
    )
    return " ".join(without_controls.split())


def checked_address(address: str) -> str:
    """A plain `local@domain` address, or `InvalidMessage`."""
    if _PLAIN_ADDRESS.fullmatch(address):  # the common case, without the full parser
        return address
    if address != single_line(address) or " " in address:
        raise InvalidMessage("the recipient address contains spaces or control characters")
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, HeaderDefect, IndexError) as exc:  # IndexError: "user@"
        raise InvalidMessage(f"the recipient address is not valid ({type(exc).__name__})") from None
    if not parsed.username or "." not in parsed.domain:
        raise InvalidMessage("the recipient address has no domain")
    return address


def checked_headers(headers: dict[str, str]) -> dict[str, str]:
    """Extra headers (e.g. List-Unsubscribe) with valid names and one-line values."""
    cleaned = {}
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise InvalidMessage(f"header name {name!r} is not a valid field name")
        if name.lower() in _RESERVED or name.lower().startswith("x-sg-"):
            raise InvalidMessage(f"header {name!r} is set by the sender, not by a template")
        cleaned[name] = single_line(value)
    return cleaned
