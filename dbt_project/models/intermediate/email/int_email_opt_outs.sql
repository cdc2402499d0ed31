-- Every reason an address must not be e-mailed, with the moment it started: unsubscribes
-- (from the unsubscribes files and from SendGrid events), bounces and spam reports.
-- `unsubscribe_group` null = every e-mail; otherwise one e-mail group (seed
-- trigger_priorities.email_group). One row per opt-out record: an unsubscribe row or a
-- SendGrid event, keyed by the table it comes from and its id there.

with

unsubscribes as (
    select * from {{ ref('stg_sendgrid__unsubscribes') }}
),

email_events as (
    select * from {{ ref('stg_sendgrid__email_events') }}
),

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

from_unsubscribes as (
    select
        'unsubscribes' as source_table,
        unsubscribe_id as source_id,
        email,
        'unsubscribed' as opt_out_reason,
        unsubscribe_group,
        unsubscribed_at as opted_out_at
    from unsubscribes
),

from_email_events as (
    select
        'email_events' as source_table,
        email_events.email_event_id as source_id,
        email_events.email,
        case email_events.event_type
            when 'bounce' then 'bounced'
            when 'spamreport' then 'spam_report'
            else 'unsubscribed'
        end as opt_out_reason,
        -- a group unsubscribe from a Flywheel e-mail covers that e-mail's group only
        case
            when email_events.event_type = 'group_unsubscribe' then trigger_priorities.email_group
        end as unsubscribe_group,
        email_events.event_at as opted_out_at
    from email_events
    -- send_key is user_id:trigger_type:period
    left join trigger_priorities
        on {{ dbt.split_part('email_events.send_key', "':'", 2) }} = trigger_priorities.trigger_type
    where email_events.event_type in ('bounce', 'spamreport', 'unsubscribe', 'group_unsubscribe')
),

final as (
    select * from from_unsubscribes
    union all
    select * from from_email_events
)

select * from final
