-- One row per user and day of the user's history (as_of_date): the current streak, when it
-- started, the longest streak so far and the last active day. Rules: see the model docs.

with

user_metrics as (
    select * from {{ ref('int_user_metrics_daily') }}
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        metric_date as as_of_date,
        is_active,
        current_streak_days,
        -- a live streak ends on the last active day (as_of_date or the day before)
        case
            when current_streak_days > 0
                then cast({{ dbt.dateadd('day', '1 - current_streak_days', 'last_active_date') }} as date)
        end as current_streak_start_date,
        longest_streak_days,
        last_active_date,
        days_since_last_active
    from user_metrics
)

select * from final
