"""A rendered e-mail, ready for any sending backend."""

from dataclasses import dataclass, field

from orchestration.emails.delivery import DeliverySlot


@dataclass(frozen=True)
class RenderedEmail:
    send_key: str  # the idempotency key: one e-mail per send_key, ever
    to_email: str
    to_name: str | None
    subject: str
    html: str
    text: str
    trigger_type: str  # also the SendGrid category
    locale: str
    headers: dict[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe
    # When it should arrive (the reader's local delivery window); None: as soon as possible.
    delivery: DeliverySlot | None = None
    # The line an inbox shows after the subject (the HTML's hidden preheader).
    preheader: str = ""
    # The variant of the trigger type's e-mail (seed email_variants), recorded by the ledger
    # and given to SendGrid as a custom arg, so sends and clicks are counted per variant.
    variant_id: str = "control"
