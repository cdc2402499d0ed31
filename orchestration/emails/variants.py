"""The variants of the e-mails: the dbt seed `email_variants.csv` (docs/effect.md, "Variants").

A trigger type's variants each render a template: the trigger type's own (`template` empty
in the seed: the control), or one of their own under `email_templates/variants/` that extends
the trigger type's and overrides some of its blocks. A trigger type the seed does not list has
one variant, `control`. dbt draws each user's variant (int_email_variants) and gives the
payloads its `variant_id` and `template`; the renderer and the preview read the seed here.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from orchestration.emails.groups import trigger_types

EMAIL_VARIANTS = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "email_variants.csv"
)
CONTROL = "control"  # the id of the implicit variant of a trigger type the seed does not list


@dataclass(frozen=True)
class EmailVariant:
    trigger_type: str
    variant_id: str
    weight: int
    template: str  # the template it renders (a path under email_templates/, no extension)

    @property
    def has_own_template(self) -> bool:
        return self.template != self.trigger_type


@cache
def email_variants() -> dict[str, tuple[EmailVariant, ...]]:
    """Every trigger type's variants, in the seed's order (a trigger type the seed does not
    list: its control alone)."""
    listed: dict[str, list[EmailVariant]] = {}
    with EMAIL_VARIANTS.open(encoding="utf-8", newline="") as seed:
        for row in csv.DictReader(seed):
            if row["trigger_type"] not in trigger_types():
                raise ValueError(
                    f"{EMAIL_VARIANTS.name}: trigger type {row['trigger_type']!r} is not in "
                    "trigger_priorities.csv"
                )
            listed.setdefault(row["trigger_type"], []).append(
                EmailVariant(
                    row["trigger_type"],
                    row["variant_id"],
                    int(row["weight"]),
                    row["template"] or row["trigger_type"],
                )
            )
    return {
        trigger_type: tuple(
            listed.get(trigger_type, [EmailVariant(trigger_type, CONTROL, 1, trigger_type)])
        )
        for trigger_type in trigger_types()
    }


def email_templates() -> tuple[str, ...]:
    """Every template a payload can name: each trigger type's own, then its variants'."""
    return tuple(
        dict.fromkeys(
            template
            for trigger_type, variants in email_variants().items()
            for template in (trigger_type, *(variant.template for variant in variants))
        )
    )
