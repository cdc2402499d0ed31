"""Trigger types and e-mail groups (what a recipient unsubscribes from).

The dbt seed `trigger_priorities.csv` is the one list of trigger types: the pipeline ranks
and sends them from it, the renderer loads one pair of templates per trigger type from it.
Every trigger type belongs to one group (its `email_group` column); an unsubscribe is for one
group or for every e-mail. The pipeline honours unsubscribes per group from the seed, and the
unsubscribe page and SendGrid's unsubscribe groups read the same file here.
"""

import csv
from functools import cache
from pathlib import Path

TRIGGER_PRIORITIES = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "trigger_priorities.csv"
)


@cache
def _group_by_trigger_type() -> dict[str, str]:
    with TRIGGER_PRIORITIES.open(encoding="utf-8", newline="") as seed:
        return {row["trigger_type"]: row["email_group"] for row in csv.DictReader(seed)}


def trigger_types() -> tuple[str, ...]:
    """Every trigger type, in the seed's order (highest priority first); each is also the
    name of its templates (`email_templates/<trigger type>.txt` and `.html`)."""
    return tuple(_group_by_trigger_type())


def email_groups() -> tuple[str, ...]:
    """Every e-mail group, in the seed's order (highest priority first)."""
    return tuple(dict.fromkeys(_group_by_trigger_type().values()))


def email_group(trigger_type: str) -> str | None:
    """The group of a trigger type; None for a trigger type the seed does not list."""
    return _group_by_trigger_type().get(trigger_type)


@cache
def trigger_calls_to_action() -> dict[str, dict[str, str]]:
    """cta_id and cta_path per trigger type, as the seed gives the payloads."""
    with TRIGGER_PRIORITIES.open(encoding="utf-8", newline="") as seed:
        return {
            row["trigger_type"]: {"cta_id": row["cta_id"], "cta_path": row["cta_path"]}
            for row in csv.DictReader(seed)
        }
