{#-
    Hysteresis for engagement stages (docs/engagement-model.md, "Stages"): a new stage
    replaces the current one only after its rule has held `stage_min_days` (a rule)
    consecutive days. Expects a CTE `rule_stages` with one row per entity and day of a dense
    spine: <entity_id>, metric_date, rule_stage. Defines the CTEs `stage_changes`,
    `stage_runs`, `stage_run_days`, `stage_holds` and `stable_stages`, which adds `stage` to every row.

    The stage on day D is the rule's stage on the last day up to D on which it had held
    stage_min_days days in a row; before the first such day, the rule's stage on the first
    day of history.

    anchored: the days continue a history built before (an incremental run), whose last day's
    state `rule_stages` carries in anchor_rule_stage, anchor_rule_stage_run_days and
    anchor_stage (null for an entity with no history before): the run of the rule's stage
    goes on across the first day, and the stage holds until the next day a stage has held
    long enough.
-#}
{% macro stable_stage_ctes(entity_id, anchored=false) -%}
stage_changes as (
    select
        *,
        {%- if anchored %}
        coalesce(
            lag(rule_stage) over (partition by {{ entity_id }} order by metric_date),
            anchor_rule_stage
        ) as previous_rule_stage
        {%- else %}
        lag(rule_stage) over (partition by {{ entity_id }} order by metric_date) as previous_rule_stage
        {%- endif %}
    from rule_stages
),

stage_runs as (
    -- gaps and islands: a run of days with the same rule stage; a new run starts on a change
    select
        *,
        sum(case when rule_stage = previous_rule_stage then 0 else 1 end) over (
            partition by {{ entity_id }}
            order by metric_date
            rows between unbounded preceding and current row
        ) as stage_run
    from stage_changes
),

stage_run_days as (
    select
        *,
        row_number() over (partition by {{ entity_id }}, stage_run order by metric_date)
        {%- if anchored %}
        -- run 0: the anchor's run goes on
        + case when stage_run = 0 then coalesce(anchor_rule_stage_run_days, 0) else 0 end
        {%- endif %} as stage_run_day
    from stage_runs
),

stage_holds as (
    -- every day on which the rule's stage has held long enough opens a group; the group keeps
    -- that stage until the next such day (group 0: the days before the first one)
    select
        *,
        sum(case when stage_run_day >= {{ rule('stage_min_days') }} then 1 else 0 end) over (
            partition by {{ entity_id }}
            order by metric_date
            rows between unbounded preceding and current row
        ) as stage_hold
    from stage_run_days
),

stable_stages as (
    select
        *,
        case
            {%- if anchored %}
            when stage_hold = 0 and anchor_stage is not null
                then anchor_stage
            {%- endif %}
            when stage_hold = 0
                then first_value(rule_stage) over (
                    partition by {{ entity_id }}
                    order by metric_date
                    rows between unbounded preceding and current row
                )
            else first_value(rule_stage) over (
                partition by {{ entity_id }}, stage_hold
                order by metric_date
                rows between unbounded preceding and current row
            )
        end as stage
    from stage_holds
)
{%- endmacro %}
