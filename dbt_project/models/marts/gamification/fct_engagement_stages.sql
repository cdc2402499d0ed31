-- One row per entity (user or account) and day of history: its engagement stage, the first
-- rule that applies (docs/engagement-model.md, "Stages"; thresholds are vars):
--   1. expand:    a habit (active_days_28d >= stage_habit_active_days) and value
--                 (optimized_actions_28d >= stage_expand_optimized_actions
--                  or hours_saved_28d >= stage_expand_hours_saved)
--   2. optimize:  a habit
--   3. reinforce: set up (onboarding_steps_total >= stage_onboarded_steps or an integration)
--                 or older than stage_implement_days days
--   4. implement: otherwise

with

entity_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
),

staged as (
    select
        entity_type,
        entity_id,
        metric_date,
        case
            when
                active_days_28d >= {{ rule('stage_habit_active_days') }}
                and (
                    optimized_actions_28d >= {{ rule('stage_expand_optimized_actions') }}
                    or hours_saved_28d >= {{ rule('stage_expand_hours_saved') }}
                )
                then 'expand'
            when active_days_28d >= {{ rule('stage_habit_active_days') }}
                then 'optimize'
            when
                onboarding_steps_total >= {{ rule('stage_onboarded_steps') }}
                or integrations_total >= 1
                or days_since_start > {{ rule('stage_implement_days') }}
                then 'reinforce'
            else 'implement'
        end as stage
    from entity_metrics
),

with_previous as (
    select
        *,
        lag(stage) over (
            partition by entity_type, entity_id
            order by metric_date
        ) as previous_stage
    from staged
),

final as (
    select
        cast(entity_type as varchar) as entity_type,
        cast(entity_id as varchar) as entity_id,
        cast(metric_date as date) as as_of_date,
        cast(stage as varchar) as stage,
        cast(previous_stage as varchar) as previous_stage,
        -- the first day of an entity's history is not a change (there is no previous stage)
        cast(coalesce(stage <> previous_stage, false) as boolean) as is_stage_change
    from with_previous
)

select * from final
