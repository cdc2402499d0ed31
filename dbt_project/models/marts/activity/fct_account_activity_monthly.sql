{{
    config(
        materialized='incremental',
        unique_key='month',
        meta={'window_column': 'month', 'window_grain': 'month'},
    )
}}
-- One row per account and calendar month of the account's history (month to date for the
-- month of as_of_date): active users, active days and the monthly counts.
-- Incremental (macros/incremental.sql): a run rebuilds whole months, from the month of
-- window_start, from their 1st; nothing is carried. unique_key `month`: the rebuilt months
-- replace every stored row of theirs. is_month_to_date stays right because the month of the
-- last day built is always rebuilt (window_start is at most the day after it), so the run of
-- a new month also rebuilds the month before and clears its flag.
{%- if is_incremental() %}
{%- set window = incremental_window('month') %}
{%- set first_month = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- endif %}

with

account_metrics as (
    select * from {{ ref('int_account_metrics_daily') }}
    {%- if is_incremental() %}
    where metric_date >= {{ first_month }}
    {%- endif %}
),

user_months as (
    select * from {{ ref('int_user_activity_monthly') }}
    {%- if is_incremental() %}
    where month >= {{ first_month }}
    {%- endif %}
),

account_months as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'metric_date') }} as date) as month,
        sum(case when is_active then 1 else 0 end) as active_days
    from account_metrics
    group by account_id, cast({{ dbt.date_trunc('month', 'metric_date') }} as date)
),

user_totals as (
    select
        account_id,
        month,
        sum(case when active_days > 0 then 1 else 0 end) as active_users,
        sum(tasks_completed) as tasks_completed,
        sum(workflows_completed) as workflows_completed,
        sum(reports_generated) as reports_generated,
        sum(minutes_saved) as minutes_saved
    from user_months
    group by account_id, month
),

final as (
    select
        cast(account_months.account_id as {{ dbt.type_string() }}) as account_id,
        account_months.month,
        cast(coalesce(user_totals.active_users, 0) as {{ dbt.type_int() }}) as active_users,
        cast(account_months.active_days as {{ dbt.type_int() }}) as active_days,
        cast(coalesce(user_totals.tasks_completed, 0) as {{ dbt.type_int() }}) as tasks_completed,
        cast(coalesce(user_totals.workflows_completed, 0) as {{ dbt.type_int() }}) as workflows_completed,
        cast(coalesce(user_totals.reports_generated, 0) as {{ dbt.type_int() }}) as reports_generated,
        cast(coalesce(user_totals.minutes_saved, 0) as {{ type_double() }}) as minutes_saved,
        cast(coalesce(user_totals.minutes_saved, 0) / 60.0 as {{ type_double() }}) as hours_saved,
        account_months.month = cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as is_month_to_date
    from account_months
    left join user_totals
        on
            account_months.account_id = user_totals.account_id
            and account_months.month = user_totals.month
)

select * from final
