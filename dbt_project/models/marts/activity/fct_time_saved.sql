{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'as_of_date'],
        meta={'window_column': 'as_of_date'},
    )
}}
-- One row per user and day of the user's history (as_of_date): minutes saved over the last
-- 7 and 28 days, the local calendar quarter to date and ever, also as hours and as work
-- weeks of `work_week_hours` (var) hours.
-- Incremental (macros/incremental.sql): a run computes the days of its window, carrying each
-- user's minutes saved in the quarter and ever from the day before the window, and reading
-- the 27 days before it from fct_user_activity_daily for the 7- and 28-day sums; a user with
-- no row that day although started earlier (loaded late) is rebuilt from the first day.
-- Sums are decimal (type_exact_sum), so an anchor plus a window equals a full refresh exactly.
{%- if is_incremental() %}
{%- set window = incremental_window('as_of_date') %}
{%- endif %}

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

{% if is_incremental() %}

anchors as (
    select
        this_table.user_id,
        cast({{ dbt.date_trunc('quarter', 'this_table.as_of_date') }} as date) as anchor_quarter,
        this_table.minutes_saved_qtd as anchor_minutes_saved_qtd,
        this_table.minutes_saved_total as anchor_minutes_saved_total
    from {{ this }} as this_table
    where this_table.as_of_date = {{ window.anchor_day }}
),

activity_to_build as (
    {{ incremental_rows(
        'user_activity', 'activity_date', window, 'user_id',
        incremental_unanchored('user_activity', 'user_id', 'activity_date', window),
        context_days=engagement_context_days(),
    ) }}
),

-- is_built: the days the run emits; the days before (context) feed only the rolling sums
days as (
    select
        activity_to_build.user_id,
        activity_to_build.account_id,
        activity_to_build.activity_date,
        cast(activity_to_build.minutes_saved as {{ type_exact_sum() }}) as minutes_saved,
        (anchors.user_id is null or activity_to_build.activity_date >= {{ window.start }}) as is_built,
        case
            when anchors.anchor_quarter = cast({{ dbt.date_trunc('quarter', 'activity_to_build.activity_date') }} as date)
                then cast(anchors.anchor_minutes_saved_qtd as {{ type_exact_sum() }})
            else 0
        end as anchor_minutes_saved_qtd,
        coalesce(cast(anchors.anchor_minutes_saved_total as {{ type_exact_sum() }}), 0) as anchor_minutes_saved_total
    from activity_to_build
    left join anchors
        on activity_to_build.user_id = anchors.user_id
),

{% else %}

days as (
    select
        user_id,
        account_id,
        activity_date,
        cast(minutes_saved as {{ type_exact_sum() }}) as minutes_saved
    from user_activity
),

{% endif %}

windowed as (
    {%- set double = type_double() %}
    select
        user_id,
        account_id,
        activity_date as as_of_date,
        cast(sum(minutes_saved) over last_7_days as {{ double }}) as minutes_saved_7d,
        cast(sum(minutes_saved) over last_28_days as {{ double }}) as minutes_saved_28d,
        {%- if is_incremental() %}
        is_built,
        cast(
            anchor_minutes_saved_qtd
            + sum(case when is_built then minutes_saved else 0 end) over quarter_to_date as {{ double }}
        ) as minutes_saved_qtd,
        cast(
            anchor_minutes_saved_total
            + sum(case when is_built then minutes_saved else 0 end) over user_history as {{ double }}
        ) as minutes_saved_total
        {%- else %}
        cast(sum(minutes_saved) over quarter_to_date as {{ double }}) as minutes_saved_qtd,
        cast(sum(minutes_saved) over user_history as {{ double }}) as minutes_saved_total
        {%- endif %}
    from days
    window
        last_7_days as (
            partition by user_id
            order by activity_date
            rows between 6 preceding and current row
        ),
        last_28_days as (
            partition by user_id
            order by activity_date
            rows between 27 preceding and current row
        ),
        quarter_to_date as (
            partition by user_id, {{ dbt.date_trunc('quarter', 'activity_date') }}
            order by activity_date
            rows between unbounded preceding and current row
        ),
        user_history as (
            partition by user_id
            order by activity_date
            rows between unbounded preceding and current row
        )
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        as_of_date,
        cast(minutes_saved_7d as {{ type_double() }}) as minutes_saved_7d,
        cast(minutes_saved_28d as {{ type_double() }}) as minutes_saved_28d,
        cast(minutes_saved_qtd as {{ type_double() }}) as minutes_saved_qtd,
        cast(minutes_saved_total as {{ type_double() }}) as minutes_saved_total,
        cast(minutes_saved_7d / 60.0 as {{ type_double() }}) as hours_saved_7d,
        cast(minutes_saved_28d / 60.0 as {{ type_double() }}) as hours_saved_28d,
        cast(minutes_saved_qtd / 60.0 as {{ type_double() }}) as hours_saved_qtd,
        cast(minutes_saved_total / 60.0 as {{ type_double() }}) as hours_saved_total,
        cast(minutes_saved_7d / 60.0 / {{ rule('work_week_hours') }} as {{ type_double() }}) as work_weeks_saved_7d,
        cast(minutes_saved_28d / 60.0 / {{ rule('work_week_hours') }} as {{ type_double() }}) as work_weeks_saved_28d,
        cast(minutes_saved_qtd / 60.0 / {{ rule('work_week_hours') }} as {{ type_double() }}) as work_weeks_saved_qtd,
        cast(
            minutes_saved_total / 60.0 / {{ rule('work_week_hours') }} as {{ type_double() }}
        ) as work_weeks_saved_total
    from windowed
    {%- if is_incremental() %}
    where is_built
    {%- endif %}
)

select * from final
