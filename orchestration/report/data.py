"""What the programme report shows, read from the marts in plain SQL (DuckDB and PostgreSQL).

Three marts: the delivery funnel per trigger type (`fct_email_effect`, every month and locale
added up), the lift of every trigger type, locale and outcome (`fct_email_lift`), and the
users' engagement stages week by week (`fct_engagement_stages`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from orchestration.quality.thresholds import project_vars
from orchestration.report.outcomes import HEADLINE
from orchestration.warehouse import WarehouseConnection

# The stages in their order: moving to a later one is moving up.
STAGES = ("implement", "reinforce", "optimize", "expand")
NOT_ENOUGH_DATA = "not enough data"
# How many weeks of stage flow the report shows.
FLOW_WEEKS = 12

FUNNEL_SQL = """
select
    trigger_type,
    sum(sends) as sends,
    sum(delivered) as delivered,
    sum(opens) as opens,
    sum(clicks) as clicks,
    sum(unsubscribes) as unsubscribes
from marts.fct_email_effect
group by trigger_type
"""

LIFT_SQL = """
select
    trigger_type, locale, outcome, treated_units, holdout_units, treated_count, holdout_count,
    treated_mean, holdout_mean, lift, lift_ci_low, lift_ci_high, lift_p_value,
    has_enough_data, verdict
from marts.fct_email_lift
"""

MIN_EFFECT_SAMPLE_SQL = """
select value from seeds.engagement_rules where rule = 'min_effect_sample'
"""

_STAGE_RANK = (
    "case {column} "
    + " ".join(f"when '{stage}' then {rank}" for rank, stage in enumerate(STAGES))
    + " end"
)

# Per week (Monday first) of the last FLOW_WEEKS + 1: the users in each stage on the week's
# last day built, and the stage changes up and down during the week. The first week may be
# cut short by the cut-off; the report keeps the last FLOW_WEEKS.
STAGE_FLOW_SQL = f"""
with user_stages as (
    select
        as_of_date,
        cast(date_trunc('week', as_of_date) as date) as week,
        stage,
        is_stage_change,
        {_STAGE_RANK.format(column="stage")} as stage_rank,
        {_STAGE_RANK.format(column="previous_stage")} as previous_stage_rank
    from marts.fct_engagement_stages
    where entity_type = 'user'
        and as_of_date > (
            select max(as_of_date) from marts.fct_engagement_stages where entity_type = 'user'
        ) - {7 * (FLOW_WEEKS + 1)}
),

week_ends as (
    select week, max(as_of_date) as week_end
    from user_stages
    group by week
),

stage_counts as (
    select week_ends.week, week_ends.week_end, user_stages.stage, count(*) as users
    from user_stages
    inner join week_ends on user_stages.as_of_date = week_ends.week_end
    group by week_ends.week, week_ends.week_end, user_stages.stage
),

moves as (
    select
        week,
        sum(case when is_stage_change and stage_rank > previous_stage_rank then 1 else 0 end)
            as moved_up,
        sum(case when is_stage_change and stage_rank < previous_stage_rank then 1 else 0 end)
            as moved_down
    from user_stages
    group by week
)

select stage_counts.week, stage_counts.week_end, stage_counts.stage, stage_counts.users,
    moves.moved_up, moves.moved_down
from stage_counts
inner join moves on stage_counts.week = moves.week
order by stage_counts.week
"""


@dataclass(frozen=True)
class Funnel:
    """The e-mails of one trigger type the provider accepted, and what became of them."""

    sends: int = 0
    delivered: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0

    @property
    def delivery_rate(self) -> float | None:
        """None before any delivery event: the outbox backend gets none, and SendGrid's
        arrive later through the Event Webhook (a rate of 0 would read as all lost)."""
        return self.delivered / self.sends if self.delivered else None

    @property
    def open_rate(self) -> float | None:
        return self.opens / self.delivered if self.delivered else None

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.delivered if self.delivered else None


@dataclass(frozen=True)
class Lift:
    """One row of fct_email_lift: a trigger type's effect on one outcome in one locale."""

    trigger_type: str
    locale: str
    outcome: str
    treated_units: int
    holdout_units: int
    treated_count: int
    holdout_count: int
    treated_mean: float | None
    holdout_mean: float | None
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    lift_p_value: float | None
    has_enough_data: bool
    verdict: str


@dataclass(frozen=True)
class StageWeek:
    """The users' stages in one week: how many in each stage at its end, and the moves."""

    week: date
    week_end: date
    users: dict[str, int]  # stage -> users in it on week_end
    moved_up: int
    moved_down: int


@dataclass(frozen=True)
class ProgrammeData:
    funnels: dict[str, Funnel]  # trigger type -> its funnel
    lifts: list[Lift]
    stage_weeks: list[StageWeek]
    min_effect_sample: int
    holdout_unit: str  # 'account' or 'user' (the dbt var holdout_unit)

    @property
    def trigger_types(self) -> list[str]:
        return sorted(set(self.funnels) | {lift.trigger_type for lift in self.lifts})

    def lifts_of(self, trigger_type: str) -> list[Lift]:
        return [lift for lift in self.lifts if lift.trigger_type == trigger_type]

    def headline(self, trigger_type: str) -> Lift | None:
        """The trigger type's headline lift: the headline outcome over every locale."""
        return next(
            (
                lift
                for lift in self.lifts_of(trigger_type)
                if lift.locale == "all" and lift.outcome == HEADLINE
            ),
            None,
        )

    def headline_verdicts(self) -> dict[str, str]:
        """Each trigger type's headline verdict; 'not enough data' without a lift row."""
        return {
            trigger_type: lift.verdict if (lift := self.headline(trigger_type)) else NOT_ENOUGH_DATA
            for trigger_type in self.trigger_types
        }


def _rows(con: WarehouseConnection, sql: str) -> list[dict[str, Any]]:
    """The rows of a query as dicts, from the result `execute` returns on either warehouse."""
    result = con.execute(sql)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def read_programme_data(con: WarehouseConnection) -> ProgrammeData:
    """Everything the report shows, from a warehouse connection (read only)."""
    funnels = {
        row.pop("trigger_type"): Funnel(**{name: int(value or 0) for name, value in row.items()})
        for row in _rows(con, FUNNEL_SQL)
    }
    lifts = [Lift(**row) for row in _rows(con, LIFT_SQL)]
    (rule,) = _rows(con, MIN_EFFECT_SAMPLE_SQL)
    return ProgrammeData(
        funnels=funnels,
        lifts=lifts,
        stage_weeks=_stage_weeks(_rows(con, STAGE_FLOW_SQL))[-FLOW_WEEKS:],
        min_effect_sample=int(rule["value"]),
        holdout_unit=project_vars()["holdout_unit"],
    )


def _stage_weeks(rows: Sequence[dict[str, Any]]) -> list[StageWeek]:
    weeks: dict[date, StageWeek] = {}
    for row in rows:
        week = weeks.setdefault(
            row["week"],
            StageWeek(
                week=row["week"],
                week_end=row["week_end"],
                users=dict.fromkeys(STAGES, 0),
                moved_up=int(row["moved_up"]),
                moved_down=int(row["moved_down"]),
            ),
        )
        week.users[row["stage"]] = int(row["users"])
    return list(weeks.values())
