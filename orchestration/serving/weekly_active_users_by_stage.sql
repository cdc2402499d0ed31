-- Weekly active users by engagement stage: the users active in each full week, by the stage
-- each one was in at the end of that week (its Sunday).
with weekly_active_users as (
    select distinct
        user_id,
        date_trunc('week', activity_date)::date as week_start
    from marts.fct_user_activity_daily
    where is_active
),

user_stages as (
    select
        entity_id as user_id,
        as_of_date,
        stage
    from marts.fct_engagement_stages
    where entity_type = 'user'
),

first_active_day as (
    select min(activity_date) as activity_date
    from marts.fct_user_activity_daily
    where is_active
)

select
    weekly_active_users.week_start,
    user_stages.stage,
    count(*) as active_users
from weekly_active_users
-- the week still running has no Sunday yet, so it drops out here
inner join user_stages
    on
        weekly_active_users.user_id = user_stages.user_id
        and weekly_active_users.week_start + 6 = user_stages.as_of_date
-- and so does the first week, which the events cover only in part
inner join first_active_day
    on weekly_active_users.week_start >= first_active_day.activity_date
group by 1, 2
order by 1, 2
