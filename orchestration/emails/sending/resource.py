"""The `email_backend` resource: where the send step hands e-mails over, an outbox folder or
SendGrid, configured from the settings (FLYWHEEL_EMAIL_BACKEND and its variables)."""

from typing import Any, Literal

import dagster as dg
from pydantic import Field

from orchestration.emails.sending.backend import SendBackend
from orchestration.emails.sending.outbox import OutboxBackend
from orchestration.emails.sending.sendgrid_backend import SENDGRID_API_HOST, SendGridBackend
from orchestration.settings import Settings


class EmailBackend(dg.ConfigurableResource):
    """The outbox (files, the default) or SendGrid, and the sender every e-mail comes from."""

    kind: Literal["outbox", "sendgrid"] = Field("outbox", description="FLYWHEEL_EMAIL_BACKEND")
    outbox_dir: str = Field("outbox", description="FLYWHEEL_OUTBOX_DIR: the outbox's folder")
    # Given as dg.EnvVar("SENDGRID_API_KEY"): the UI shows the variable's name, never the key.
    api_key: str | None = Field(None, description="SENDGRID_API_KEY")
    api_host: str = Field(SENDGRID_API_HOST, description="SENDGRID_API_HOST")
    sandbox: bool = Field(False, description="SENDGRID_SANDBOX_MODE")
    batches: Literal["required", "optional", "off"] = Field(
        "required", description="SENDGRID_BATCHES"
    )
    asm_group_id: int | None = Field(None, description="SENDGRID_ASM_GROUP_ID")
    asm_group_ids: dict[str, int] = Field(default_factory=dict, description="SENDGRID_ASM_GROUPS")
    from_email: str = Field("reports@flywheel.example.com", description="FLYWHEEL_FROM_EMAIL")
    from_name: str = Field("Flywheel", description="FLYWHEEL_FROM_NAME")
    reply_to: str | None = Field(None, description="FLYWHEEL_REPLY_TO")

    @classmethod
    def from_settings(cls, settings: Settings) -> "EmailBackend":
        """The resource of a code location: the API key is read when a run launches."""
        api_key = dg.EnvVar("SENDGRID_API_KEY") if settings.email_backend == "sendgrid" else None
        return cls(**_configuration(settings), api_key=api_key)

    def backend(self) -> SendBackend:
        if self.kind == "outbox":
            return OutboxBackend(
                self.outbox_dir,
                from_email=self.from_email,
                from_name=self.from_name,
                reply_to=self.reply_to,
            )
        if not self.api_key:
            raise ValueError("FLYWHEEL_EMAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        return SendGridBackend(
            self.api_key,
            host=self.api_host,
            sandbox=self.sandbox,
            batches=self.batches,
            asm_group_id=self.asm_group_id,
            asm_group_ids=self.asm_group_ids,
            from_email=self.from_email,
            from_name=self.from_name,
            reply_to=self.reply_to,
        )


def backend_from_settings(settings: Settings) -> SendBackend:
    """The same backend outside a run (`flywheel send-test`, the benchmarks)."""
    key = settings.sendgrid_api_key.get_secret_value() if settings.sendgrid_api_key else None
    return EmailBackend(**_configuration(settings), api_key=key).backend()


def _configuration(settings: Settings) -> dict[str, Any]:
    return {
        "kind": settings.email_backend,
        "outbox_dir": str(settings.outbox_dir),
        "api_host": settings.sendgrid_api_host,
        "sandbox": settings.sendgrid_sandbox,
        "batches": settings.sendgrid_batches,
        "asm_group_id": settings.sendgrid_asm_group_id,
        "asm_group_ids": settings.sendgrid_asm_groups,
        "from_email": settings.from_email,
        "from_name": settings.from_name,
        "reply_to": settings.reply_to,
    }
