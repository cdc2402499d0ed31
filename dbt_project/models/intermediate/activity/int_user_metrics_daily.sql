{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric_date'],
        meta={'window_column': 'metric_date'},
    )
}}
-- One row per user and day of the user's history: the rolling, cumulative and streak
-- metrics that the ladders, stages, badges, triggers and recommendations read.
-- The metric logic is shared with int_account_metrics_daily (macros/engagement_metrics.sql).
-- Incremental (macros/incremental.sql): a run computes the days of its window, carrying the
-- streaks, totals and month-to-date sums of each user from the day before the window, and
-- reading 27 more days of activity for the rolling windows.
{%- set window = incremental_window('metric_date') if is_incremental() else none %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

setup_firsts as (
    select * from {{ ref('int_activity_setup_firsts') }}
),

{% if is_incremental() %}

{{ engagement_metric_anchors('user_id', window) }},

activity_to_build as (
    {{ incremental_rows(
        'user_activity', 'activity_date', window, 'user_id',
        incremental_unanchored('user_activity', 'user_id', 'activity_date', window),
        context_days=engagement_context_days(),
    ) }}
),

{% else %}

activity_to_build as (
    select * from user_activity
),

{% endif %}

setup_daily as (
    select
        user_id,
        first_date as metric_date,
        sum(case when setup_kind = 'onboarding_step' then 1 else 0 end) as new_onboarding_steps,
        sum(case when setup_kind = 'integration' then 1 else 0 end) as new_integrations,
        sum(case when setup_kind = 'integration' and setup_value = 'crm' then 1 else 0 end) as new_crm_connections
    from setup_firsts
    group by user_id, first_date
),

daily as (
    select
        user_activity.user_id,
        user_activity.account_id,
        user_activity.activity_date as metric_date,
        user_activity.is_active,
        {%- for column_name in engagement_daily_count_columns() %}
        user_activity.{{ column_name }},
        {%- endfor %}
        coalesce(setup_daily.new_onboarding_steps, 0) as new_onboarding_steps,
        coalesce(setup_daily.new_integrations, 0) as new_integrations,
        coalesce(setup_daily.new_crm_connections, 0) as new_crm_connections
    from activity_to_build as user_activity
    left join setup_daily
        on
            user_activity.user_id = setup_daily.user_id
            and user_activity.activity_date = setup_daily.metric_date
),

{{ engagement_metric_ctes('user_id', window) }},

final as (
    select
        metrics.user_id,
        metrics.account_id,
        {{ engagement_metric_columns() }}
    from metrics
)

select * from final
