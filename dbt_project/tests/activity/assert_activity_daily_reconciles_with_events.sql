-- Every event the activity history uses is counted exactly once in fct_user_activity_daily:
-- per user, the daily event counts and minutes saved add up to the events of
-- int_activity_events. Returns the users whose totals differ.

with

daily as (
    select * from {{ ref('fct_user_activity_daily') }}
),

events as (
    select * from {{ ref('int_activity_events') }}
),

daily_totals as (
    select
        user_id,
        sum(event_count) as event_count,
        sum(minutes_saved) as minutes_saved
    from daily
    group by user_id
),

event_totals as (
    select
        user_id,
        count(*) as event_count,
        sum(minutes_saved) as minutes_saved
    from events
    group by user_id
),

final as (
    select
        coalesce(daily_totals.user_id, event_totals.user_id) as user_id,
        daily_totals.event_count as daily_event_count,
        event_totals.event_count as source_event_count,
        daily_totals.minutes_saved as daily_minutes_saved,
        event_totals.minutes_saved as source_minutes_saved
    from daily_totals
    full outer join event_totals
        on daily_totals.user_id = event_totals.user_id
    where
        coalesce(daily_totals.event_count, 0) <> coalesce(event_totals.event_count, 0)
        or abs(coalesce(daily_totals.minutes_saved, 0) - coalesce(event_totals.minutes_saved, 0)) > 0.001
)

select * from final
