{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric', 'week_start'],
        meta={'window_column': 'week_start'},
    )
}}
-- One row per user, metric (tasks_completed, workflows_completed, reports_generated) and ISO
-- week (Monday to Sunday, local days) with a count of the metric: the week's count (to date
-- for the current week). fct_personal_bests compares each week with the earlier ones.
-- Incremental (macros/incremental.sql): a run counts again the weeks from the one of
-- window_start, from their Monday; no state is carried. Counts only grow (events are never
-- removed), so a week rebuilt never loses its row. A user loaded late (after the look-back)
-- gets the weeks from that one on only, until a full refresh.

{%- set metrics = ['tasks_completed', 'workflows_completed', 'reports_generated'] %}
{%- if is_incremental() %}
{%- set window = incremental_window('week_start') %}
{%- endif %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
    {%- if is_incremental() %}
    where
        activity_date between cast({{ dbt.date_trunc('week', window.start) }} as date)
        and {{ window.end }}
    {%- endif %}
),

daily_counts as (
    {%- for metric in metrics %}
    select
        user_id,
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

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        week_start,
        cast(sum(day_count) as {{ dbt.type_int() }}) as week_count
    from daily_counts
    group by user_id, metric, week_start
)

select * from final
