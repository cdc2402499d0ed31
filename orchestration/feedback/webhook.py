"""SendGrid's signed Event Webhook: verify a request and turn its events into raw rows.

SendGrid signs every request with ECDSA (P-256, SHA-256) over the bytes of the
`X-Twilio-Email-Event-Webhook-Timestamp` header followed by the request body, and sends the
base64 DER signature in `X-Twilio-Email-Event-Webhook-Signature`. The verification itself is
the official `sendgrid` library's `EventWebhook` (which uses `cryptography`); this module adds
what the library leaves to its caller: a request without the headers is refused, and so is a
timestamp too far from now (a replayed request), a signature that is not even base64, and a
body that is not a JSON array of event objects.

Everything here is pure (no I/O, the clock is an argument), so every rule is unit-tested.
"""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader

from orchestration.ingestion.contract import RAW_TABLES

SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP
# A signed request whose timestamp is further than this from now (either way) is refused.
DEFAULT_TOLERANCE_SECONDS = 5 * 60
# The raw `email_events` columns, in contract order: sg_event_id, sg_message_id, email, event,
# timestamp, send_key (send_key is a custom arg, at the top level of each SendGrid event).
EVENT_COLUMNS: tuple[str, ...] = RAW_TABLES["email_events"].all_columns

EventRow = dict[str, str | None]


class WebhookRejected(Exception):
    """A request the receiver refuses, with the HTTP status to answer."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(f"{status.value} {status.phrase}: {reason}")
        self.status = status
        self.reason = reason


def load_public_key(public_key: str) -> EventWebhook:
    """A verifier for the public key as SendGrid shows it (base64 DER, no PEM armour).

    Raises ValueError with a readable message when the key is not an EC public key.
    """
    problem = (
        "SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key (expected the base64 "
        "'Verification Key' from SendGrid's signed Event Webhook settings)"
    )
    key = "".join(public_key.split())  # pasted keys often carry line breaks
    try:
        verifier = EventWebhook(key)
    except (ValueError, TypeError) as error:
        raise ValueError(problem) from error
    if not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise ValueError(problem)
    return verifier


def verify_and_convert(
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    verifier: EventWebhook,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> list[EventRow]:
    """Check one Event Webhook request and return its events as raw `email_events` rows.

    Raises `WebhookRejected`: 401 without the signature headers, 403 for a timestamp that
    is not unix seconds or is more than `tolerance_seconds` away from `now`, or a signature
    that does not verify; 400 for a body that is not UTF-8 JSON holding an array of
    objects. Only a verified body is parsed.
    """
    if not signature or not timestamp:
        raise WebhookRejected(HTTPStatus.UNAUTHORIZED, "missing signature headers")
    timestamp = timestamp.strip()
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookRejected(HTTPStatus.FORBIDDEN, "timestamp is not unix seconds")
    if abs(now - int(timestamp)) > tolerance_seconds:
        raise WebhookRejected(HTTPStatus.FORBIDDEN, "timestamp outside the tolerance")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookRejected(HTTPStatus.BAD_REQUEST, "body is not UTF-8") from error
    if not _signature_is_valid(verifier, payload, signature.strip(), timestamp):
        raise WebhookRejected(HTTPStatus.FORBIDDEN, "invalid signature")
    return [event_row(event) for event in _parse_events(payload)]


def event_row(event: Mapping[str, Any]) -> EventRow:
    """One SendGrid event as a raw row: the contract columns as text (missing = null).

    Nothing is judged here: a row with a missing id or an odd event type is written as it
    came and quarantined by staging, like any raw row.
    """
    row = {column: _text(event.get(column)) for column in EVENT_COLUMNS}
    if row["send_key"] is None:
        # Custom args are top-level keys in Event Webhook events; older (v2/SMTP) sends
        # nest them under unique_args.
        nested = event.get("unique_args")
        if isinstance(nested, Mapping):
            row["send_key"] = _text(nested.get("send_key"))
    return row


def _signature_is_valid(
    verifier: EventWebhook, payload: str, signature: str, timestamp: str
) -> bool:
    try:
        return bool(verifier.verify_signature(payload, signature, timestamp))
    except (ValueError, TypeError):  # not base64 (binascii.Error), not a DER signature
        return False


def _parse_events(payload: str) -> list[Mapping[str, Any]]:
    try:
        events = json.loads(payload)
    except (ValueError, RecursionError) as error:
        raise WebhookRejected(HTTPStatus.BAD_REQUEST, "body is not JSON") from error
    if not isinstance(events, list):
        raise WebhookRejected(HTTPStatus.BAD_REQUEST, "body is not a JSON array of events")
    if not all(isinstance(event, dict) for event in events):
        raise WebhookRejected(HTTPStatus.BAD_REQUEST, "an event is not a JSON object")
    return events


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
