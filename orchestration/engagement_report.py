"""What the engagement rules tell people, measured on a built warehouse.

Each measure is one query over the marts and the payloads: the demo summary prints them and
the tests hold them to their bounds (tests/test_engagement_rules.py), so a rule change that
makes the e-mails repetitive, jumpy or indiscreet shows up in both.
"""

from dataclasses import dataclass

from orchestration.warehouse import WarehouseConnection

# Among the payloads that show a recommendation: the share each one leads.
FIRST_RECOMMENDATIONS = """
select recommendation_1, count(*), round(100.0 * count(*) / sum(count(*)) over (), 1)
from email.rpt_email_payloads
where recommendation_1 is not null
group by 1 order by 2 desc, 1
"""

# Recommendations in e-mails for something the user (or, for account-level actions, the
# account) has already done that day. The dbt test assert_no_recommendation_already_done
# checks the same against the raw metrics on every build.
RECOMMENDATIONS_ALREADY_DONE = """
select count(*)
from email.rpt_email_payloads as payloads
join intermediate.int_recommendation_rules_daily as rules
    on rules.user_id = payloads.user_id
    and rules.metric_date = payloads.triggered_on
    and rules.recommendation in (payloads.recommendation_1, payloads.recommendation_2)
where rules.is_done
"""

# User stage changes undone within 7 days: the stage goes back to the one it left.
STAGE_REVERSALS = """
with changes as (
    select entity_id, as_of_date, previous_stage, stage
    from marts.fct_engagement_stages
    where entity_type = 'user' and is_stage_change
),
reversals as (
    select changes.*, exists (
        select 1 from changes as later
        where later.entity_id = changes.entity_id
            and later.as_of_date > changes.as_of_date
            and later.as_of_date <= changes.as_of_date + 7
            and later.stage = changes.previous_stage
    ) as is_reversed
    from changes
)
select count(*), count(*) filter (where is_reversed) from reversals
"""

# The level_up triggers of every ladder's first and top level.
LADDER_END_LEVEL_UPS = """
with ends as (
    select ladder, level,
        case when level_rank = 1 then 'first' else 'top' end as position
    from seeds.gamification_levels as levels
    where level_rank = 1
        or level_rank = (select max(level_rank) from seeds.gamification_levels as same_ladder
                         where same_ladder.ladder = levels.ladder)
)
select ends.ladder, ends.position, ends.level, count(triggers.send_key)
from ends
left join marts.fct_email_triggers as triggers
    on triggers.trigger_type = 'level_up'
    and triggers.detail_ladder = ends.ladder
    and triggers.detail_level = ends.level
group by 1, 2, 3 order by 1, 2 desc
"""

# Payloads that compare a user with fewer other active teammates than the team floor.
SMALL_TEAM_COMPARISONS = """
select count(*)
from email.rpt_email_payloads as payloads
join marts.fct_team_benchmarks as teams
    on teams.user_id = payloads.user_id
    and teams.month = date_trunc('month', payloads.triggered_on)
    and teams.metric = 'tasks_completed'
where payloads.user_pct_vs_team_avg is not null
    and teams.other_active_users < (
        select value from seeds.engagement_rules where rule = 'min_team_size'
    )
"""

# Bands with at least one published cohort benchmark, out of the bands with accounts.
PUBLISHED_BANDS = """
select employee_band, bool_or(is_published)
from marts.fct_cohort_benchmarks
group by 1 order by 1
"""


@dataclass(frozen=True)
class EngagementReport:
    first_recommendations: list[tuple[str, int, float]]
    recommendations_already_done: int
    stage_changes: int
    stage_changes_reversed: int
    ladder_end_level_ups: list[tuple[str, str, str, int]]
    small_team_comparisons: int
    bands_published: dict[str, bool]

    @property
    def reversed_pct(self) -> float:
        return 100.0 * self.stage_changes_reversed / self.stage_changes if self.stage_changes else 0


def measure_engagement(con: WarehouseConnection) -> EngagementReport:
    changes, reversed_changes = con.execute(STAGE_REVERSALS).fetchone()
    return EngagementReport(
        first_recommendations=con.execute(FIRST_RECOMMENDATIONS).fetchall(),
        recommendations_already_done=con.execute(RECOMMENDATIONS_ALREADY_DONE).fetchone()[0],
        stage_changes=changes,
        stage_changes_reversed=reversed_changes,
        ladder_end_level_ups=con.execute(LADDER_END_LEVEL_UPS).fetchall(),
        small_team_comparisons=con.execute(SMALL_TEAM_COMPARISONS).fetchone()[0],
        bands_published=dict(con.execute(PUBLISHED_BANDS).fetchall()),
    )
