-- The account-day spine: one row per account and calendar day, from the account's first
-- day (the day it was created, or the first local activity day of any of its users,
-- whichever is earlier) to as_of_date. Accounts created after as_of_date have no rows.
-- A view that scans every event once (each account's first day needs them all) in every model
-- that reads it; a reader's filter on the days it builds reaches the view's calendar.

with

accounts as (
    select * from {{ ref('stg_product__accounts') }}
),

events as (
    select * from {{ ref('int_activity_events') }}
),

first_activity as (
    select
        account_id,
        min(activity_date) as first_activity_date
    from events
    group by account_id
),

account_starts as (
    select
        accounts.account_id,
        case
            when first_activity.first_activity_date < accounts.created_date
                then first_activity.first_activity_date
            else accounts.created_date
        end as first_day
    from accounts
    left join first_activity
        on accounts.account_id = first_activity.account_id
),

calendar as (
    {{ day_series('(select min(first_day) from account_starts)', as_of_date()) }}
),

final as (
    select
        account_starts.account_id,
        calendar.date_day as activity_date
    from account_starts
    inner join calendar
        on account_starts.first_day <= calendar.date_day
)

select * from final
