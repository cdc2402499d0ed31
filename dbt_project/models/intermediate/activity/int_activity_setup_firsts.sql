-- One row per user and setup item ever done: each distinct onboarding step and each
-- distinct integration, with the first local day the user completed or connected it.
-- The metric models count these cumulatively ("distinct steps ever", "has CRM").
-- A view that scans every event once (a first ever needs them all) in every model that reads
-- it; the plan's follow-up is a small incremental table of firsts (docs/plans/incremental-models.md).

with

events as (
    select * from {{ ref('int_activity_events') }}
),

setup_events as (
    select
        user_id,
        account_id,
        'onboarding_step' as setup_kind,
        onboarding_step as setup_value,
        activity_date
    from events
    where onboarding_step is not null

    union all

    select
        user_id,
        account_id,
        'integration' as setup_kind,
        integration as setup_value,
        activity_date
    from events
    where integration is not null
),

final as (
    select
        user_id,
        account_id,
        setup_kind,
        setup_value,
        min(activity_date) as first_date
    from setup_events
    group by user_id, account_id, setup_kind, setup_value
)

select * from final
