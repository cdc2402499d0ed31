-- One row per user and day of the user's history (as_of_date): minutes saved over the last
-- 7 and 28 days, the local calendar quarter to date and ever, also as hours and as work
-- weeks of `work_week_hours` (var) hours.

with

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

windowed as (
    select
        user_id,
        account_id,
        activity_date as as_of_date,
        sum(minutes_saved) over last_7_days as minutes_saved_7d,
        sum(minutes_saved) over last_28_days as minutes_saved_28d,
        sum(minutes_saved) over quarter_to_date as minutes_saved_qtd,
        sum(minutes_saved) over user_history as minutes_saved_total
    from user_activity
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
)

select * from final
