"""Query a warehouse through the dbt project's macros: `dbt show --inline`."""

import json

from dagster_dbt import DbtCliResource


def dbt_show(dbt: DbtCliResource, sql: str, target) -> list[dict]:
    """The rows of `sql` (Jinja and the project's macros allowed), compiled into `target`."""
    invocation = dbt.cli(
        ["show", "--inline", sql, "--limit", "-1", "--output", "json"],
        raise_on_error=True,
        target_path=target,
    )
    previews = [
        event.raw_event["data"]["preview"]
        for event in invocation.stream_raw_events()
        if "preview" in event.raw_event.get("data", {})
    ]
    assert len(previews) == 1
    return json.loads(previews[0])
