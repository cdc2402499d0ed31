"""Test sends: one real e-mail of the warehouse, rendered for a tester's address and sent now
through the configured backend (`flywheel send-test`).

A test send is never mistaken for the real one:
- its subject starts with `[TEST] ` and it carries the header `X-Flywheel-Test: true`;
- its send key is new for every test: the real one's shape (`user:trigger type:period`) with
  the user replaced by `test-<random>`, so SendGrid's events for it (the `send_key` custom
  arg) never match the real send, and a group unsubscribe still names its e-mail group;
- it is sent at once (no `send_at`, no batch) and never written to the send ledger, so the
  real e-mail is still sent, exactly once, when it is due.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from orchestration.emails.message import RenderedEmail
from orchestration.emails.render import render_email
from orchestration.emails.sending.backend import Attempt, SendBackend, SendResult
from orchestration.emails.sending.headers import checked_address
from orchestration.settings import Settings

TEST_HEADER = "X-Flywheel-Test"
TEST_SUBJECT_PREFIX = "[TEST] "


def send_key_of_a_test(send_key: str) -> str:
    """A fresh send key of the real one's shape whose user part says it is a test."""
    _, _, rest = send_key.partition(":")
    return f"test-{secrets.token_hex(6)}:{rest}"


def render_for_tester(
    payload: dict[str, Any], to_email: str, settings: Settings, locale: str | None = None
) -> RenderedEmail:
    """The payload's e-mail addressed to `to_email` (in `locale`, default the reader's), marked
    as a test; its unsubscribe link is the tester's own."""
    row = {
        **payload,
        "email": checked_address(to_email),
        "send_key": send_key_of_a_test(payload["send_key"]),
        "locale": locale or payload["locale"],
    }
    email = render_email(row, settings)
    return replace(
        email,
        subject=TEST_SUBJECT_PREFIX + email.subject,
        headers={**email.headers, TEST_HEADER: "true"},
        delivery=None,
    )


def send_now(email: RenderedEmail, backend: SendBackend) -> SendResult:
    """One attempt, unscheduled and outside the ledger (see the module docstring)."""
    return backend.send(email, Attempt(backend=backend.name))
