"""The backend the settings ask for."""

from orchestration.emails.sending.backend import SendBackend
from orchestration.emails.sending.outbox import OutboxBackend
from orchestration.emails.sending.sendgrid_backend import SendGridBackend
from orchestration.settings import Settings


def backend_from_settings(settings: Settings) -> SendBackend:
    """`OutboxBackend` (FLYWHEEL_EMAIL_BACKEND=outbox, the default) or `SendGridBackend`."""
    if settings.email_backend == "outbox":
        return OutboxBackend(
            settings.outbox_dir,
            from_email=settings.from_email,
            from_name=settings.from_name,
            reply_to=settings.reply_to,
        )
    if settings.sendgrid_api_key is None or not settings.sendgrid_api_key.get_secret_value():
        raise ValueError("FLYWHEEL_EMAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
    return SendGridBackend(
        settings.sendgrid_api_key,
        host=settings.sendgrid_api_host,
        sandbox=settings.sendgrid_sandbox,
        batches=settings.sendgrid_batches,
        asm_group_id=settings.sendgrid_asm_group_id,
        asm_group_ids=settings.sendgrid_asm_groups,
        from_email=settings.from_email,
        from_name=settings.from_name,
        reply_to=settings.reply_to,
    )
