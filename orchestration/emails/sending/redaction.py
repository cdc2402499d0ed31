"""Keep the API key and recipients' addresses out of logs, errors and the ledger.

The sendgrid client logs every request at DEBUG through `python_http_client.client`, including
the request headers (`Authorization: Bearer <key>`) and the JSON payload (the recipient's
address). `install_log_scrubbing` attaches a filter to that logger which rewrites those
records before any handler sees them. Every error text the sender stores or logs goes through
`scrub` as well, so an error body that echoes a header cannot leak the key.
"""

import logging
import re
import threading

REDACTED = "[redacted]"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",}]+")
_ADDRESS = re.compile(r"[\w.!#$%&*+/=?^`{|}~'-]+@[\w-]+(?:\.[\w-]+)+")
# The loggers of the sendgrid client. A logger's filters apply only to records created on
# that very logger, so the filter goes on each of them, not on a common parent.
_CLIENT_LOGGERS = ("python_http_client.client", "python_http_client", "sendgrid")


def register_secret(value: str) -> None:
    """Remember a secret so that `scrub` removes it wherever it appears."""
    if value:
        with _secrets_lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """`text` without registered secrets, bearer tokens or e-mail addresses."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    return _ADDRESS.sub("<address>", text)


class ScrubFilter(logging.Filter):
    """Rewrites a record's message with `scrub`; request payloads are not logged at all."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("PAYLOAD:"):
            message = "PAYLOAD: [request body not logged]"
        record.msg = scrub(message)
        record.args = None
        return True


_installed = False
_install_lock = threading.Lock()


def install_log_scrubbing() -> None:
    """Attach `ScrubFilter` to the sendgrid client's loggers (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in _CLIENT_LOGGERS:
            logging.getLogger(name).addFilter(ScrubFilter())
        _installed = True
