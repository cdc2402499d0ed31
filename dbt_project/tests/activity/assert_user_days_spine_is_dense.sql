-- The rolling windows ("rows between 27 preceding and current row") and the streak rule
-- (the previous row is D-1) need a dense spine: every user has one row per day from their
-- first day to as_of_date, none missing. Returns the users whose history has gaps or does
-- not end on as_of_date.

with

daily as (
    select * from {{ ref('fct_user_activity_daily') }}
),

per_user as (
    select
        user_id,
        count(*) as day_rows,
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from daily
    group by user_id
),

final as (
    select * from per_user
    where
        day_rows <> {{ dbt.datediff('first_day', 'last_day', 'day') }} + 1
        or last_day <> {{ as_of_date() }}
)

select * from final
