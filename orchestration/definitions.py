"""Assembles Flywheel's Dagster definitions; each piece is defined next to its code."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import email_feedback_models, flywheel_dbt_models
from orchestration.dbt.project import flywheel_dbt
from orchestration.emails.assets import email_send_ledger, rendered_emails
from orchestration.ingestion.assets import raw_tables
from orchestration.jobs import jobs
from orchestration.quality import quality_checks, source_freshness_checks
from orchestration.resources import RawDirectory, Warehouse
from orchestration.schedules import schedules
from orchestration.sensors import AlertLog, sensors
from orchestration.settings import get_settings

get_settings()  # publishes the resolved configuration for the EnvVar resources below

defs = dg.Definitions(
    assets=[
        raw_tables,
        flywheel_dbt_models,
        rendered_emails,
        email_send_ledger,
        email_feedback_models,
    ],
    asset_checks=[*quality_checks, *source_freshness_checks],
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={
        "warehouse": Warehouse(path=dg.EnvVar("FLYWHEEL_WAREHOUSE")),
        "raw_directory": RawDirectory(path=dg.EnvVar("FLYWHEEL_RAW_DIR")),
        "dbt": DbtCliResource(project_dir=flywheel_dbt),
        "alert_log": AlertLog(),
    },
)
