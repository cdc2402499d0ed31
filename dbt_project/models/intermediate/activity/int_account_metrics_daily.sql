{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'metric_date'],
        meta={'window_column': 'metric_date'},
    )
}}
-- One row per account and day of the account's history: the same metrics as
-- int_user_metrics_daily, over the sums of the account's users. An account's day is active
-- when any of its users was active (active_users > 0); its streaks run over those days.
-- Distinct onboarding steps and integrations count each step or integration once per
-- account, whichever user did it first.
-- Incremental (macros/incremental.sql), as int_user_metrics_daily: a run computes the days of
-- its window from the state of the day before. An account whose users that day are not the
-- ones its stored row counted (spine_users: a user loaded late, or moved) is rebuilt from its
-- first day, since that user's history changes the account's.
{%- set window = incremental_window('metric_date') if is_incremental() else none %}

with

account_days as (
    select * from {{ ref('int_account_days') }}
),

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

setup_firsts as (
    select * from {{ ref('int_activity_setup_firsts') }}
),

{% if is_incremental() %}

{{ engagement_metric_anchors('account_id', window, name='stored_anchors', extra_columns=['spine_users']) }},

anchor_day_users as (
    select
        user_activity.account_id,
        count(*) as spine_users
    from user_activity
    where user_activity.activity_date = {{ window.anchor_day }}
    group by user_activity.account_id
),

-- a stored row carries its state only while the account has the users it was computed from
anchors as (
    select stored_anchors.*
    from stored_anchors
    left join anchor_day_users
        on stored_anchors.account_id = anchor_day_users.account_id
    where stored_anchors.anchor_spine_users = coalesce(anchor_day_users.spine_users, 0)
),

unanchored_accounts as (
    {{ incremental_unanchored('account_days', 'account_id', 'activity_date', window) }}
),

account_days_to_build as (
    {{ incremental_rows(
        'account_days', 'activity_date', window, 'account_id',
        'select account_id from unanchored_accounts', context_days=engagement_context_days(),
    ) }}
),

user_activity_to_build as (
    {{ incremental_rows(
        'user_activity', 'activity_date', window, 'account_id',
        'select account_id from unanchored_accounts', context_days=engagement_context_days(),
    ) }}
),

{% else %}

account_days_to_build as (
    select * from account_days
),

user_activity_to_build as (
    select * from user_activity
),

{% endif %}

account_activity as (
    select
        account_id,
        activity_date,
        {%- for column_name in engagement_daily_count_columns() %}
        sum({{ column_name }}) as {{ column_name }},
        {%- endfor %}
        sum(case when is_active then 1 else 0 end) as active_users,
        count(*) as spine_users
    from user_activity_to_build
    group by account_id, activity_date
),

account_setup_firsts as (
    select
        account_id,
        setup_kind,
        setup_value,
        min(first_date) as first_date
    from setup_firsts
    group by account_id, setup_kind, setup_value
),

setup_daily as (
    select
        account_id,
        first_date as metric_date,
        sum(case when setup_kind = 'onboarding_step' then 1 else 0 end) as new_onboarding_steps,
        sum(case when setup_kind = 'integration' then 1 else 0 end) as new_integrations,
        sum(case when setup_kind = 'integration' and setup_value = 'crm' then 1 else 0 end) as new_crm_connections
    from account_setup_firsts
    group by account_id, first_date
),

daily as (
    select
        account_days.account_id,
        account_days.activity_date as metric_date,
        coalesce(account_activity.active_users, 0) as active_users,
        coalesce(account_activity.active_users, 0) > 0 as is_active,
        coalesce(account_activity.spine_users, 0) as spine_users,
        {%- for column_name in engagement_daily_count_columns() %}
        coalesce(account_activity.{{ column_name }}, 0) as {{ column_name }},
        {%- endfor %}
        coalesce(setup_daily.new_onboarding_steps, 0) as new_onboarding_steps,
        coalesce(setup_daily.new_integrations, 0) as new_integrations,
        coalesce(setup_daily.new_crm_connections, 0) as new_crm_connections
    from account_days_to_build as account_days
    left join account_activity
        on
            account_days.account_id = account_activity.account_id
            and account_days.activity_date = account_activity.activity_date
    left join setup_daily
        on
            account_days.account_id = setup_daily.account_id
            and account_days.activity_date = setup_daily.metric_date
),

{{ engagement_metric_ctes('account_id', window) }},

final as (
    select
        metrics.account_id,
        {{ engagement_metric_columns() }},
        cast(metrics.active_users as {{ dbt.type_int() }}) as active_users,
        cast(metrics.spine_users as {{ dbt.type_int() }}) as spine_users
    from metrics
)

select * from final
