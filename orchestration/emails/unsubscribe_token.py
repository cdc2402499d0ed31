"""Signed, opaque unsubscribe tokens.

A token tells the unsubscribe endpoint (`flywheel webhook`) everything it needs to
unsubscribe exactly one recipient from exactly one e-mail group, and shows none of it:

    token = base64url(version ‖ tag ‖ AES-256-CTR(k_enc, nonce = tag[:16], plaintext))
    tag   = HMAC-SHA256(k_mac, version ‖ plaintext)
    plaintext = JSON ["ada@example.com", "achievements", "fr"]   (address, group, language)

`k_mac` and `k_enc` are derived from FLYWHEEL_SECRET_KEY with HMAC-SHA256 under two labels.
The HMAC authenticates the token: any change to any byte makes `read_token` raise
`InvalidToken`. The encryption hides the address (the nonce is the tag, as in SIV mode), so
the token is deterministic: the same recipient, group and language give the same link, and
rendering an e-mail twice gives the same bytes. The endpoint needs no database: it reads the
address and the group from the token and writes them as a raw `unsubscribes` row.

Tokens do not expire (an unsubscribe link must keep working); rotating FLYWHEEL_SECRET_KEY
invalidates every link already sent, so do it only if the key leaked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_VERSION = b"\x01"
_TAG_BYTES = 32
# Longer than any token of a real address; refused before any work is done.
MAX_TOKEN_CHARS = 1024


class InvalidToken(ValueError):
    """A token that was not made with this secret key, or was changed since."""


@dataclass(frozen=True)
class UnsubscribeTarget:
    """Who unsubscribes from what: an address, its e-mail group, the language of its e-mails."""

    email: str
    group: str
    lang: str


@lru_cache(maxsize=8)
def _keys(secret: bytes) -> tuple[bytes, bytes]:
    mac_key = hmac.new(secret, b"flywheel unsubscribe token: mac", hashlib.sha256).digest()
    enc_key = hmac.new(secret, b"flywheel unsubscribe token: enc", hashlib.sha256).digest()
    return mac_key, enc_key


def _ctr(enc_key: bytes, nonce: bytes, data: bytes) -> bytes:
    # CTR is its own inverse: the same call encrypts and decrypts.
    cipher = Cipher(algorithms.AES(enc_key), modes.CTR(nonce)).encryptor()
    return cipher.update(data) + cipher.finalize()


def make_token(secret: bytes, target: UnsubscribeTarget) -> str:
    """The URL-safe token for `target` (deterministic for a given secret)."""
    mac_key, enc_key = _keys(secret)
    plaintext = json.dumps(
        [target.email, target.group, target.lang], ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    tag = hmac.new(mac_key, _VERSION + plaintext, hashlib.sha256).digest()
    sealed = _VERSION + tag + _ctr(enc_key, tag[:16], plaintext)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def read_token(secret: bytes, token: str) -> UnsubscribeTarget:
    """The target of a token made by `make_token` with the same secret, or `InvalidToken`."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken("not an unsubscribe token")
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not an unsubscribe token") from None
    if len(sealed) <= 1 + _TAG_BYTES or sealed[:1] != _VERSION:
        raise InvalidToken("not an unsubscribe token")
    mac_key, enc_key = _keys(secret)
    tag, ciphertext = sealed[1 : 1 + _TAG_BYTES], sealed[1 + _TAG_BYTES :]
    plaintext = _ctr(enc_key, tag[:16], ciphertext)
    expected = hmac.new(mac_key, _VERSION + plaintext, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise InvalidToken("the token's signature does not match")
    try:
        email, group, lang = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, TypeError):
        raise InvalidToken("the token's content is not valid") from None
    if not all(isinstance(value, str) and value for value in (email, group, lang)):
        raise InvalidToken("the token's content is not valid")
    return UnsubscribeTarget(email=email, group=group, lang=lang)
