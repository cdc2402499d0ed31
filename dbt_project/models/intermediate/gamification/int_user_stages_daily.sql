{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric_date'],
        meta={'window_column': 'metric_date'},
    )
}}
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
-- Incremental (macros/incremental.sql): a run builds the days of its window, carrying from
-- the day before it the habit, the rule's stage and how long it has held, and the stable
-- stage; a user with no row that day although in the history (loaded late) is built from
-- the first day.
{%- if is_incremental() %}
{%- set window = incremental_window('metric_date') %}
{%- endif %}

with

{% if is_incremental() %}

anchors as (
    select
        user_id,
        has_habit,
        rule_stage,
        rule_stage_run_days,
        stage
    from {{ this }}
    where metric_date = {{ window.anchor_day }}
),

-- users in the history the day before the window with no row that day (loaded late)
unanchored_users as (
    select entity_id as user_id
    from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'user' and metric_date = {{ window.anchor_day }}

    except

    select user_id from anchors
),

user_metrics as (
    {{ incremental_rows(
        ref('int_entity_metrics_daily'), 'metric_date', window, 'entity_id',
        'select unanchored_users.user_id from unanchored_users', where="entity_type = 'user'",
    ) }}
),

{% else %}

anchors as (  -- none: every user's days are all built
    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as boolean) as has_habit,
        cast(null as {{ dbt.type_string() }}) as rule_stage,
        cast(null as integer) as rule_stage_run_days,
        cast(null as {{ dbt.type_string() }}) as stage
    where false
),

user_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'user'
),

{% endif %}

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
    -- before the first change (spell 0), the habit of the day before: none on the first day
    -- of history, the anchor's in an incremental run
    select
        habit_spells.*,
        coalesce(
            first_value(habit_spells.habit_change) over (
                partition by habit_spells.entity_id, habit_spells.habit_spell
                order by habit_spells.metric_date
                rows between unbounded preceding and current row
            ),
            case when anchors.has_habit then 1 else 0 end
        ) = 1 as has_habit,
        anchors.rule_stage as anchor_rule_stage,
        anchors.rule_stage_run_days as anchor_rule_stage_run_days,
        anchors.stage as anchor_stage
    from habit_spells
    left join anchors
        on habit_spells.entity_id = anchors.user_id
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
        >= {{ rule('dormant_days') }} as is_dormant,
        has_habit,
        anchor_rule_stage,
        anchor_rule_stage_run_days,
        anchor_stage
    from habits
),

{{ stable_stage_ctes('user_id', anchored=true) }},

final as (
    select
        user_id,
        account_id,
        metric_date,
        rule_stage,
        stage,
        is_dormant,
        -- the state the next incremental run carries
        has_habit,
        cast(stage_run_day as integer) as rule_stage_run_days
    from stable_stages
)

select * from final
