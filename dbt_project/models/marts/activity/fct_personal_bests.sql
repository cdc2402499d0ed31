{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric', 'week_start'],
        meta={'window_column': 'achieved_on'},
    )
}}
-- One row per user, metric and ISO week (Monday to Sunday, local days) whose count beat
-- every earlier week of the user: at least `personal_best_min_weeks` (var) earlier weeks
-- with a count, and a count of at least `personal_best_min_count` (var). Dated on the first
-- day the running count of the week was above the best earlier week (and at the minimum).
-- Incremental (macros/incremental.sql): a run rebuilds the weeks from the one of window_start
-- (week_count grows until the week ends, so a best dated before window_start is written
-- again); the best and the number of the earlier weeks are a group by of
-- int_user_weekly_counts, with no state of this model's own. A user loaded late (after the
-- look-back) gets personal bests from that week on only, until a full refresh.

{%- set metrics = ['tasks_completed', 'workflows_completed', 'reports_generated'] %}
{%- if is_incremental() %}
{%- set window = incremental_window('achieved_on') %}
{#- the weeks the run rebuilds, from the Monday of window_start's week #}
{%- set rebuild_start = 'cast(' ~ dbt.date_trunc('week', window.start) ~ ' as date)' %}
{%- endif %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
    {%- if is_incremental() %}
    where activity_date between {{ rebuild_start }} and {{ window.end }}
    {%- endif %}
),

weekly_counts as (
    select * from {{ ref('int_user_weekly_counts') }}
    {%- if is_incremental() %}
    where week_start between {{ rebuild_start }} and {{ window.end }}
    {%- endif %}
),

-- read again for the weeks before the rebuilt ones: PostgreSQL materializes a CTE read twice
earlier_weekly_counts as (
    select * from {{ ref('int_user_weekly_counts') }}
    {%- if is_incremental() %}
    where week_start < {{ rebuild_start }}
    {%- else %}
    where false
    {%- endif %}
),

daily_counts as (
    {%- for metric in metrics %}
    select
        user_id,
        account_id,
        activity_date,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start,
        '{{ metric }}' as metric,
        {{ metric }} as day_count
    from user_activity
    where {{ metric }} > 0
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

-- the best and the number of each user's weeks with a count before the rebuilt weeks (none
-- in a full build)
earlier_weeks as (
    select
        user_id,
        metric,
        max(week_count) as previous_best,
        count(*) as weeks_with_data
    from earlier_weekly_counts
    group by user_id, metric
),

weekly_history as (
    -- the best and the number of the user's earlier weeks with a count of the metric: the
    -- weeks before the rebuilt ones, then the rebuilt ones before this one (counts are >= 1,
    -- so 0 stands for no week)
    select
        weekly_counts.user_id,
        weekly_counts.metric,
        weekly_counts.week_start,
        weekly_counts.week_count,
        nullif(
            greatest(
                coalesce(earlier_weeks.previous_best, 0),
                coalesce(max(weekly_counts.week_count) over rebuilt_earlier_weeks, 0)
            ),
            0
        ) as previous_best,
        coalesce(earlier_weeks.weeks_with_data, 0)
        + count(*) over rebuilt_earlier_weeks as earlier_weeks_with_data
    from weekly_counts
    left join earlier_weeks
        on
            weekly_counts.user_id = earlier_weeks.user_id
            and weekly_counts.metric = earlier_weeks.metric
    window rebuilt_earlier_weeks as (
        partition by weekly_counts.user_id, weekly_counts.metric
        order by weekly_counts.week_start
        rows between unbounded preceding and 1 preceding
    )
),

running_counts as (
    select
        user_id,
        account_id,
        metric,
        week_start,
        activity_date,
        sum(day_count) over (
            partition by user_id, metric, week_start
            order by activity_date
            rows between unbounded preceding and current row
        ) as week_to_date_count
    from daily_counts
),

personal_bests as (
    select
        running_counts.user_id,
        running_counts.account_id,
        running_counts.metric,
        running_counts.week_start,
        weekly_history.week_count,
        weekly_history.previous_best,
        weekly_history.earlier_weeks_with_data,
        min(running_counts.activity_date) as achieved_on
    from running_counts
    inner join weekly_history
        on
            running_counts.user_id = weekly_history.user_id
            and running_counts.metric = weekly_history.metric
            and running_counts.week_start = weekly_history.week_start
    where
        weekly_history.earlier_weeks_with_data >= {{ rule('personal_best_min_weeks') }}
        and running_counts.week_to_date_count > weekly_history.previous_best
        and running_counts.week_to_date_count >= {{ rule('personal_best_min_count') }}
    group by
        running_counts.user_id,
        running_counts.account_id,
        running_counts.metric,
        running_counts.week_start,
        weekly_history.week_count,
        weekly_history.previous_best,
        weekly_history.earlier_weeks_with_data
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        week_start,
        cast({{ iso_year_week('week_start') }} as {{ dbt.type_string() }}) as iso_week,
        achieved_on,
        cast(week_count as {{ dbt.type_int() }}) as week_count,
        cast(previous_best as {{ dbt.type_int() }}) as previous_best,
        cast(earlier_weeks_with_data as {{ dbt.type_int() }}) as earlier_weeks_with_data
    from personal_bests
)

select * from final
