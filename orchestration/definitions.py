"""Assembles Flywheel's Dagster definitions; each piece is defined next to its code, and the
resources are built from the settings the code location loads with."""

import dagster as dg

from orchestration.dbt.assets import email_feedback_models, flywheel_dbt_models
from orchestration.emails.assets import email_send_ledger, rendered_emails
from orchestration.ingestion.assets import raw_tables
from orchestration.jobs import jobs
from orchestration.quality import quality_checks, source_freshness_checks
from orchestration.report.assets import email_programme_report
from orchestration.resources import flywheel_resources
from orchestration.schedules import schedules
from orchestration.sensors import sensors
from orchestration.serving.assets import serving_marts
from orchestration.settings import Settings

defs = dg.Definitions(
    assets=[
        raw_tables,
        flywheel_dbt_models,
        rendered_emails,
        email_send_ledger,
        email_feedback_models,
        serving_marts,
        email_programme_report,
    ],
    asset_checks=[*quality_checks, *source_freshness_checks],
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=flywheel_resources(Settings()),
)
