{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['user_id', 'activity_date'],
        on_schema_change='fail',
    )
}}
-- One row per user and local day of the spine (int_user_days): event counts per type,
-- minutes saved, is_active. Incremental: see the model docs for the look-back window.

with

user_days as (
    select * from {{ ref('int_user_days') }}
),

events as (
    select * from {{ ref('int_activity_events') }}
),

{% if is_incremental() %}

built_users as (
    select distinct user_id from {{ this }}
),

-- Days to (re)build: from `incremental_lookback_days` before the first day to build
-- (min_date, or the day after the last day already built) to max_date (or as_of_date).
incremental_window as (
    select
        {%- if var('min_date') %}
        cast(
            {{ dbt.dateadd('day', -1 * var('incremental_lookback_days'), "cast('" ~ var('min_date') ~ "' as date)") }}
            as date
        ) as window_start,
        {%- else %}
        coalesce(
            cast({{ dbt.dateadd('day', 1 - var('incremental_lookback_days'), 'max(activity_date)') }} as date),
            cast('1900-01-01' as date)
        ) as window_start,
        {%- endif %}
        {%- if var('max_date') %}
        cast('{{ var("max_date") }}' as date) as window_end
        {%- else %}
        {{ as_of_date() }} as window_end
        {%- endif %}
    -- one row: max() over the table, or no table read at all with min_date
    {%- if not var('min_date') %}
    from {{ this }}
    {%- endif %}
),

-- The window's days, plus every day of users not built yet (e.g. loaded late)
spine as (
    select user_days.*
    from user_days
    cross join incremental_window
    left join built_users
        on user_days.user_id = built_users.user_id
    where
        user_days.activity_date between incremental_window.window_start and incremental_window.window_end
        or built_users.user_id is null
),

{% else %}

spine as (
    select * from user_days
),

{% endif %}

daily_events as (
    select
        events.user_id,
        events.activity_date,
        sum(case when events.event_name = 'session_started' then 1 else 0 end) as sessions_started,
        sum(case when events.event_name = 'onboarding_step_completed' then 1 else 0 end) as onboarding_steps_completed,
        sum(case when events.event_name = 'integration_connected' then 1 else 0 end) as integrations_connected,
        sum(case when events.event_name = 'feature_enabled' then 1 else 0 end) as features_enabled,
        sum(case when events.event_name = 'report_generated' then 1 else 0 end) as reports_generated,
        sum(case when events.event_name = 'workflow_completed' then 1 else 0 end) as workflows_completed,
        sum(case when events.is_bulk_workflow then 1 else 0 end) as bulk_workflows_completed,
        sum(case when events.is_automated_workflow then 1 else 0 end) as automated_workflows_completed,
        sum(case when events.event_name = 'task_completed' then 1 else 0 end) as tasks_completed,
        sum(case when events.event_name = 'automation_run' then 1 else 0 end) as automation_runs,
        sum(case when events.event_name = 'bulk_action_used' then 1 else 0 end) as bulk_actions_used,
        sum(case when events.event_name = 'schedule_created' then 1 else 0 end) as schedules_created,
        sum(case when events.event_name = 'seat_added' then 1 else 0 end) as seats_added,
        sum(case when events.event_name = 'invite_sent' then 1 else 0 end) as invites_sent,
        sum(case when events.is_optimized_action then 1 else 0 end) as optimized_actions,
        count(*) as event_count,
        sum(events.minutes_saved) as minutes_saved
    from events
    inner join spine
        on
            events.user_id = spine.user_id
            and events.activity_date = spine.activity_date
    group by events.user_id, events.activity_date
),

final as (
    {%- set int_type = dbt.type_int() %}
    select
        cast(spine.user_id as {{ dbt.type_string() }}) as user_id,
        cast(spine.account_id as {{ dbt.type_string() }}) as account_id,
        cast(spine.activity_date as date) as activity_date,
        cast(coalesce(daily_events.sessions_started, 0) as {{ int_type }}) as sessions_started,
        cast(coalesce(daily_events.onboarding_steps_completed, 0) as {{ int_type }}) as onboarding_steps_completed,
        cast(coalesce(daily_events.integrations_connected, 0) as {{ int_type }}) as integrations_connected,
        cast(coalesce(daily_events.features_enabled, 0) as {{ int_type }}) as features_enabled,
        cast(coalesce(daily_events.reports_generated, 0) as {{ int_type }}) as reports_generated,
        cast(coalesce(daily_events.workflows_completed, 0) as {{ int_type }}) as workflows_completed,
        cast(coalesce(daily_events.bulk_workflows_completed, 0) as {{ int_type }}) as bulk_workflows_completed,
        cast(
            coalesce(daily_events.automated_workflows_completed, 0) as {{ int_type }}
        ) as automated_workflows_completed,
        cast(coalesce(daily_events.tasks_completed, 0) as {{ int_type }}) as tasks_completed,
        cast(coalesce(daily_events.automation_runs, 0) as {{ int_type }}) as automation_runs,
        cast(coalesce(daily_events.bulk_actions_used, 0) as {{ int_type }}) as bulk_actions_used,
        cast(coalesce(daily_events.schedules_created, 0) as {{ int_type }}) as schedules_created,
        cast(coalesce(daily_events.seats_added, 0) as {{ int_type }}) as seats_added,
        cast(coalesce(daily_events.invites_sent, 0) as {{ int_type }}) as invites_sent,
        cast(coalesce(daily_events.optimized_actions, 0) as {{ int_type }}) as optimized_actions,
        cast(coalesce(daily_events.event_count, 0) as {{ int_type }}) as event_count,
        cast(coalesce(daily_events.minutes_saved, 0) as {{ type_double() }}) as minutes_saved,
        coalesce(daily_events.event_count, 0) > 0 as is_active
    from spine
    left join daily_events
        on
            spine.user_id = daily_events.user_id
            and spine.activity_date = daily_events.activity_date
)

select * from final
