{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric', 'month', 'threshold'],
        meta={'window_column': 'reached_on'},
    )
}}
-- One row per user, metric, local calendar month and threshold (seed milestone_thresholds)
-- that the user's monthly count reached, dated on the first day the running count was at
-- or above the threshold. A running count only grows, so each threshold is crossed once.
-- Incremental (macros/incremental.sql): a run counts the months from the one of window_start,
-- from their 1st (the running count restarts every month: no state is carried), and writes
-- the milestones reached from window_start on; those reached before it stay. A user loaded
-- late (after the look-back) gets milestones from that month on only, until a full refresh.

{%- set metrics = ['reports_generated', 'workflows_completed', 'tasks_completed'] %}
{%- if is_incremental() %}
{%- set window = incremental_window('reached_on') %}
{%- endif %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
    {%- if is_incremental() %}
    where
        activity_date between cast({{ dbt.date_trunc('month', window.start) }} as date)
        and {{ window.end }}
    {%- endif %}
),

milestone_thresholds as (
    select * from {{ ref('milestone_thresholds') }}
),

daily_counts as (
    {%- for metric in metrics %}
    select
        user_id,
        account_id,
        activity_date,
        '{{ metric }}' as metric,
        {{ metric }} as day_count
    from user_activity
    where {{ metric }} > 0
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

running_counts as (
    select
        user_id,
        account_id,
        activity_date,
        metric,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month,
        sum(day_count) over (
            partition by user_id, metric, cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
            order by activity_date
            rows between unbounded preceding and current row
        ) as month_to_date_count,
        day_count
    from daily_counts
),

final as (
    select
        cast(running_counts.user_id as {{ dbt.type_string() }}) as user_id,
        cast(running_counts.account_id as {{ dbt.type_string() }}) as account_id,
        cast(running_counts.metric as {{ dbt.type_string() }}) as metric,
        running_counts.month,
        cast(milestone_thresholds.threshold as {{ dbt.type_int() }}) as threshold,
        running_counts.activity_date as reached_on,
        cast(running_counts.month_to_date_count as {{ dbt.type_int() }}) as month_to_date_count
    from running_counts
    inner join milestone_thresholds
        on
            running_counts.metric = milestone_thresholds.metric
            -- the day the running count went from below the threshold to at or above it
            and running_counts.month_to_date_count - running_counts.day_count < milestone_thresholds.threshold
            and running_counts.month_to_date_count >= milestone_thresholds.threshold
    {%- if is_incremental() %}
    where running_counts.activity_date >= {{ window.start }}
    {%- endif %}
)

select * from final
