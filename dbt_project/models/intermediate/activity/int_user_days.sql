-- The user-day spine: one row per user and local calendar day, from the user's first day
-- (the local day the user was created or first active, whichever is earlier) to as_of_date.
-- Users created after as_of_date have no rows.
-- A view that scans every event once (each user's first day needs them all) in every model
-- that reads it; a reader's filter on the days it builds reaches the view's calendar.

with

users as (
    select * from {{ ref('stg_product__users') }}
),

events as (
    select * from {{ ref('int_activity_events') }}
),

first_activity as (
    select
        user_id,
        min(activity_date) as first_activity_date
    from events
    group by user_id
),

users_created as (
    select
        user_id,
        account_id,
        cast({{ convert_from_utc('created_at', 'timezone') }} as date) as created_local_date
    from users
),

user_starts as (
    select
        users_created.user_id,
        users_created.account_id,
        case
            when first_activity.first_activity_date < users_created.created_local_date
                then first_activity.first_activity_date
            else users_created.created_local_date
        end as first_day
    from users_created
    left join first_activity
        on users_created.user_id = first_activity.user_id
),

calendar as (
    {{ day_series('(select min(first_day) from user_starts)', as_of_date()) }}
),

final as (
    select
        user_starts.user_id,
        user_starts.account_id,
        calendar.date_day as activity_date
    from user_starts
    inner join calendar
        on user_starts.first_day <= calendar.date_day
)

select * from final
