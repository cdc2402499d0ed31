-- One row per user, metric and ISO week (Monday to Sunday, local days) whose count beat
-- every earlier week of the user: at least `personal_best_min_weeks` (var) earlier weeks
-- with a count, and a count of at least `personal_best_min_count` (var). Dated on the first
-- day the running count of the week was above the best earlier week (and at the minimum).

{%- set metrics = ['tasks_completed', 'workflows_completed', 'reports_generated'] %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
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

weekly_counts as (
    select
        user_id,
        metric,
        week_start,
        sum(day_count) as week_count
    from daily_counts
    group by user_id, metric, week_start
),

weekly_history as (
    -- the best and the number of the user's earlier weeks with a count of the metric
    select
        user_id,
        metric,
        week_start,
        week_count,
        max(week_count) over earlier_weeks as previous_best,
        count(*) over earlier_weeks as earlier_weeks_with_data
    from weekly_counts
    window earlier_weeks as (
        partition by user_id, metric
        order by week_start
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
