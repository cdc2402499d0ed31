-- One row per user and day of history: the stage the rules give that day (`rule_stage`, the
-- first that applies), the stable stage (hysteresis: a new stage must hold stage_min_days
-- days in a row) and the dormant flag (docs/engagement-model.md, "Stages"):
--   1. expand:    a habit and value
--                 (optimized_actions_28d >= stage_expand_optimized_actions
--                  or hours_saved_28d >= stage_expand_hours_saved)
--   2. optimize:  a habit: formed when active_days_28d >= stage_habit_active_days, kept
--                 until it falls below stage_habit_kept_active_days
--   3. reinforce: set up (onboarding_steps_total >= stage_onboarded_steps or an integration)
--                 or older than stage_implement_days days
--   4. implement: otherwise

with

user_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'user'
),

habit_changes as (
    -- a habit forms at stage_habit_active_days active days in 28 and is lost below
    -- stage_habit_kept_active_days: in between, the user keeps what they had (null here)
    select
        *,
        case
            when active_days_28d >= {{ rule('stage_habit_active_days') }} then 1
            when active_days_28d < {{ rule('stage_habit_kept_active_days') }} then 0
        end as habit_change
    from user_metrics
),

habit_spells as (
    select
        *,
        count(habit_change) over (
            partition by entity_id
            order by metric_date
            rows between unbounded preceding and current row
        ) as habit_spell
    from habit_changes
),

habits as (
    select
        *,
        coalesce(
            first_value(habit_change) over (
                partition by entity_id, habit_spell
                order by metric_date
                rows between unbounded preceding and current row
            ),
            0
        ) = 1 as has_habit
    from habit_spells
),

rule_stages as (
    select
        entity_id as user_id,
        account_id,
        metric_date,
        case
            when
                has_habit
                and (
                    optimized_actions_28d >= {{ rule('stage_expand_optimized_actions') }}
                    or hours_saved_28d >= {{ rule('stage_expand_hours_saved') }}
                )
                then 'expand'
            when has_habit
                then 'optimize'
            when
                onboarding_steps_total >= {{ rule('stage_onboarded_steps') }}
                or integrations_total >= 1
                or days_since_start > {{ rule('stage_implement_days') }}
                then 'reinforce'
            else 'implement'
        end as rule_stage,
        -- no active day in dormant_days days (never active: since the first day of history)
        {{ dbt.datediff('coalesce(last_active_date, entity_start_date)', 'metric_date', 'day') }}
        >= {{ rule('dormant_days') }} as is_dormant
    from habits
),

{{ stable_stage_ctes('user_id') }},

final as (
    select
        user_id,
        account_id,
        metric_date,
        rule_stage,
        stage,
        is_dormant
    from stable_stages
)

select * from final
