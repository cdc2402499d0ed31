-- The events the activity history is built from: good events that happened before
-- events_through (by default the end of as_of_date, UTC) whose user-local activity_date is on
-- or before as_of_date, with the time-saved rule applied (the minutes each event saved) and
-- the setup values normalised.

with

events as (
    select * from {{ ref('stg_product__events') }}
),

action_minutes_saved as (
    select * from {{ ref('action_minutes_saved') }}
),

action_defaults as (
    select
        max(case when action = 'automated_workflow' then minutes_saved end) as automated_workflow_minutes,
        max(case when action = 'bulk_workflow' then minutes_saved end) as bulk_workflow_minutes
    from action_minutes_saved
),

in_range as (
    select * from events
    where
        occurred_at < {{ events_through() }}
        and activity_date <= {{ as_of_date() }}
),

final as (
    select
        in_range.event_id,
        in_range.user_id,
        in_range.account_id,
        in_range.event_name,
        in_range.occurred_at,
        in_range.activity_date,
        case
            when in_range.event_name = 'onboarding_step_completed' then lower(trim(in_range.step))
        end as onboarding_step,
        case
            when in_range.event_name = 'integration_connected' then lower(trim(in_range.integration))
        end as integration,
        coalesce(in_range.event_name = 'workflow_completed' and in_range.is_bulk, false) as is_bulk_workflow,
        coalesce(in_range.event_name = 'workflow_completed' and in_range.is_automated, false) as is_automated_workflow,
        -- bulk or automated workflows, automation runs, bulk actions, schedules created
        coalesce(
            in_range.event_name in ('automation_run', 'bulk_action_used', 'schedule_created')
            or (in_range.event_name = 'workflow_completed' and (in_range.is_bulk or in_range.is_automated)),
            false
        ) as is_optimized_action,
        cast(
            case
                when in_range.event_name = 'automation_run'
                    then coalesce(in_range.minutes_saved, 0)
                when in_range.event_name = 'workflow_completed' and in_range.is_automated
                    then coalesce(in_range.minutes_saved, action_defaults.automated_workflow_minutes, 0)
                when in_range.event_name = 'workflow_completed' and in_range.is_bulk
                    then coalesce(in_range.minutes_saved, action_defaults.bulk_workflow_minutes, 0)
                else 0
            end as {{ type_double() }}
        ) as minutes_saved
    from in_range
    cross join action_defaults
)

select * from final
