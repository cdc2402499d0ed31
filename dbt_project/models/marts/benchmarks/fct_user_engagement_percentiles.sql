{{
    config(
        materialized='incremental',
        unique_key='month',
        meta={'window_column': 'month', 'window_grain': 'month'},
    )
}}
-- One row per user and local calendar month of the user's history: the user's engagement
-- against every user in the same engagement stage that month. The stage is the user's stage
-- on the last day of the month they have (fct_engagement_stages, so the current month takes
-- the stage of as_of_date). The engagement value is the month's core actions: tasks
-- completed + workflows completed + reports generated (active days tie too often to rank:
-- they stop at the month's length). A cohort of fewer than `min_cohort_size` users publishes
-- no rank.
-- Incremental (macros/incremental.sql): cohorts are per month, so a run rebuilds whole months,
-- from the month of window_start, reading the stages from its 1st; nothing is carried.
-- unique_key `month`: the rebuilt months replace every stored row of theirs.
{%- if is_incremental() %}
{%- set window = incremental_window('month') %}
{%- set first_month = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- endif %}

with

user_months as (
    select * from {{ ref('int_user_activity_monthly') }}
    {%- if is_incremental() %}
    where month >= {{ first_month }}
    {%- endif %}
),

stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where entity_type = 'user'
    {%- if is_incremental() %}
        and as_of_date >= {{ first_month }}
    {%- endif %}
),

stage_days as (
    select
        entity_id as user_id,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as month,
        as_of_date,
        stage
    from stages
),

last_stage_days as (
    select
        user_id,
        month,
        max(as_of_date) as stage_as_of_date
    from stage_days
    group by user_id, month
),

month_end_stages as (
    select
        stage_days.user_id,
        stage_days.month,
        stage_days.as_of_date as stage_as_of_date,
        stage_days.stage
    from stage_days
    inner join last_stage_days
        on
            stage_days.user_id = last_stage_days.user_id
            and stage_days.as_of_date = last_stage_days.stage_as_of_date
),

user_values as (
    select
        user_months.user_id,
        user_months.account_id,
        user_months.month,
        month_end_stages.stage,
        month_end_stages.stage_as_of_date,
        user_months.active_days,
        user_months.tasks_completed + user_months.workflows_completed + user_months.reports_generated
            as engagement_value
    from user_months
    inner join month_end_stages
        on
            user_months.user_id = month_end_stages.user_id
            and user_months.month = month_end_stages.month
),

ranked as (
    select
        *,
        count(*) over cohort as cohort_size,
        -- ties share the lower rank
        rank() over cohort_by_value as value_rank,
        percent_rank() over cohort_by_value as value_percent_rank
    from user_values
    window
        cohort as (partition by month, stage),
        cohort_by_value as (partition by month, stage order by engagement_value)
),

published as (
    select
        *,
        cohort_size >= {{ rule('min_cohort_size') }} as is_published
    from ranked
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        month,
        cast(stage as {{ dbt.type_string() }}) as stage,
        stage_as_of_date,
        cast(active_days as {{ dbt.type_int() }}) as active_days,
        cast(engagement_value as {{ type_double() }}) as engagement_value,
        cast(cohort_size as {{ dbt.type_int() }}) as cohort_size,
        is_published,
        cast(case when is_published then value_percent_rank * 100 end as {{ type_double() }}) as percentile_rank,
        case
            when is_published then {{ is_in_top_percent('value_rank', 'cohort_size', rule('top_percent')) }}
        end as is_top_percent,
        cast({{ rule('top_percent') }} as {{ type_double() }}) as top_percent
    from published
)

select * from final
