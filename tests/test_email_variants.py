"""The variants of the e-mails (seed email_variants, docs/effect.md "Variants"): the seed names
templates that exist and extend their trigger type's; a variant renders its own subject in
every language; dbt draws each user's variant from a salted hash, close to the weights and the
same for a user every time (checked on DuckDB through the macro and int_email_variants)."""

import csv
import hashlib
from collections import Counter

import pytest
from dagster_dbt import DbtCliResource

from orchestration.dbt.project import flywheel_dbt
from orchestration.emails.i18n import TEMPLATES_DIR
from orchestration.emails.preview import PREVIEW_LOCALES, sample_payloads
from orchestration.emails.render import render_email
from orchestration.emails.variants import EMAIL_VARIANTS, email_variants
from orchestration.settings import Settings
from tests.dbt_show import dbt_show

USERS = 20_000
BUCKETS = 10_000
# inactive_nudge's experiment as the seed ships it (weights 1 and 1)
EXPERIMENT = "inactive_nudge"
SUBJECTS = {
    "en": "Anna, your progress is waiting",
    "fr": "Anna, votre progression vous attend",
    "ru": "Anna, ваш прогресс ждёт вас",
}


def seed_rows() -> list[dict[str, str]]:
    with EMAIL_VARIANTS.open(encoding="utf-8", newline="") as seed:
        return list(csv.DictReader(seed))


def test_each_variant_template_exists_and_extends_its_trigger_types():
    with_templates = [row for row in seed_rows() if row["template"]]
    assert with_templates
    for row in with_templates:
        for extension in ("txt", "html"):
            path = TEMPLATES_DIR / f"{row['template']}.{extension}"
            assert path.is_file(), f"{row['variant_id']}: no template {path}"
            first_line = path.read_text(encoding="utf-8").splitlines()[0]
            assert first_line == f'{{% extends "{row["trigger_type"]}.{extension}" %}}', path


def test_a_trigger_type_without_variants_has_its_control_alone():
    variants = email_variants()
    assert [v.variant_id for v in variants[EXPERIMENT]] == ["control", "progress_waiting"]
    assert [(v.variant_id, v.template) for v in variants["level_up"]] == [("control", "level_up")]


@pytest.mark.parametrize("locale", PREVIEW_LOCALES)
def test_a_variant_renders_its_own_subject_in_every_language(locale):
    sample = next(p for _, _, p in sample_payloads() if p["trigger_type"] == EXPERIMENT)
    variant = email_variants()[EXPERIMENT][1]
    control = render_email({**sample, "locale": locale}, Settings())
    email = render_email(
        {
            **sample,
            "locale": locale,
            "variant_id": variant.variant_id,
            "template": variant.template,
        },
        Settings(),
    )
    assert email.subject == SUBJECTS[locale]
    assert email.subject != control.subject
    assert email.preheader != control.preheader
    assert email.variant_id == "progress_waiting" and control.variant_id == "control"
    # the body is the trigger type's: the variant only overrides the copy
    assert control.text.split("\n\n", 2)[2] == email.text.split("\n\n", 2)[2]


def reference_bucket(salt: str, trigger_type: str, user_id: str) -> int:
    """macros/email_variant_bucket.sql, as documented."""
    digest = hashlib.md5(f"{salt}:{trigger_type}:{user_id}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


@pytest.fixture(scope="module")
def assignments(tmp_path_factory) -> list[dict]:
    """Every user's variant of inactive_nudge and level_up, by the macro and the model."""
    warehouse = tmp_path_factory.mktemp("variants") / "variants.duckdb"
    target = tmp_path_factory.mktemp("target")
    dbt = DbtCliResource(project_dir=flywheel_dbt)
    sql = f"""
        with users as (
            select 'usr_' || cast(range as varchar) as user_id from range({USERS})
        )
        select
            users.user_id,
            variants.trigger_type,
            variants.variant_id,
            {{{{ email_variant_bucket('users.user_id', 'variants.trigger_type') }}}} as bucket
        from users
        inner join {{{{ ref('int_email_variants') }}}} as variants
            on
                variants.trigger_type in ('{EXPERIMENT}', 'level_up')
                and {{{{ email_variant_bucket('users.user_id', 'variants.trigger_type') }}}}
                    >= variants.bucket_from
                and {{{{ email_variant_bucket('users.user_id', 'variants.trigger_type') }}}}
                    < variants.bucket_to
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLYWHEEL_WAREHOUSE", str(warehouse))
        seeds = ["seed", "--select", "email_variants trigger_priorities"]
        dbt.cli(seeds, raise_on_error=True, target_path=target).wait()
        model = ["run", "--select", "int_email_variants"]
        dbt.cli(model, raise_on_error=True, target_path=target).wait()
        return dbt_show(dbt, sql, target)


def test_every_user_gets_one_variant_close_to_the_weights(assignments):
    per_trigger = Counter((row["trigger_type"], row["user_id"]) for row in assignments)
    assert len(per_trigger) == 2 * USERS and set(per_trigger.values()) == {1}
    shares = Counter(row["variant_id"] for row in assignments if row["trigger_type"] == EXPERIMENT)
    weights = {v.variant_id: v.weight for v in email_variants()[EXPERIMENT]}
    for variant_id, weight in weights.items():
        # a binomial share of 20000 users: its standard deviation is under 0.004
        assert shares[variant_id] / USERS == pytest.approx(weight / sum(weights.values()), abs=0.02)
    assert {row["variant_id"] for row in assignments if row["trigger_type"] == "level_up"} == {
        "control"
    }


def test_the_draw_is_the_documented_hash_so_a_user_keeps_their_variant(assignments):
    salt = "flywheel-variants"  # var variant_salt (dbt_project.yml)
    for row in assignments:
        assert row["bucket"] == reference_bucket(salt, row["trigger_type"], row["user_id"])
    # salted by trigger type too: a user's draws for two trigger types are independent
    by_user = {}
    for row in assignments:
        by_user.setdefault(row["user_id"], {})[row["trigger_type"]] = row["bucket"]
    low_nudge = [u for u, buckets in by_user.items() if buckets[EXPERIMENT] < BUCKETS / 2]
    low_both = [u for u in low_nudge if by_user[u]["level_up"] < BUCKETS / 2]
    assert len(low_both) / len(low_nudge) == pytest.approx(0.5, abs=0.03)
