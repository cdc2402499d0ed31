{{
    config(
        materialized='incremental',
        unique_key='month',
        meta={'window_column': 'month', 'window_grain': 'month'},
    )
}}
-- One row per user and local calendar month of the user's history: active days and the
-- monthly counts the team benchmarks and the account months are built from.
-- Incremental (macros/incremental.sql): a run rebuilds whole months, from the month of
-- window_start, from their 1st; nothing is carried. unique_key `month`: the rebuilt months
-- replace every stored row of theirs.
{%- if is_incremental() %}
{%- set window = incremental_window('month') %}
{%- set first_month = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- endif %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
    {%- if is_incremental() %}
    where activity_date >= {{ first_month }}
    {%- endif %}
),

final as (
    select
        user_id,
        account_id,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month,
        sum(case when is_active then 1 else 0 end) as active_days,
        sum(tasks_completed) as tasks_completed,
        sum(workflows_completed) as workflows_completed,
        sum(reports_generated) as reports_generated,
        sum(minutes_saved) as minutes_saved
    from user_activity
    group by user_id, account_id, cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
)

select * from final
