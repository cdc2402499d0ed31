-- Every raw SendGrid event row with all its quarantine rules applied (null = good):
-- base_sendgrid__email_events' own-table rules, then the event vocabulary (seed
-- sendgrid_event_types) and the address (rules in order: the docs block
-- `quarantine_rules_email_events`).

with

email_events as (
    select * from {{ ref('base_sendgrid__email_events') }}
),

sendgrid_event_types as (
    select * from {{ ref('sendgrid_event_types') }}
),

checked as (
    select
        email_events.*,
        case
            when email_events.quarantine_reason is not null
                then email_events.quarantine_reason
            when sendgrid_event_types.event_type is null
                then 'unknown_event_name'
            when not {{ is_valid_email('email_events.email') }}
                then 'invalid_email'
        end as checked_quarantine_reason
    from email_events
    left join sendgrid_event_types
        on email_events.event_type = sendgrid_event_types.event_type
),

final as (
    select
        email_event_id,
        sg_message_id,
        email,
        event_type,
        event_at,
        send_key,
        url,
        source_file,
        source_row,
        loaded_at,
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when checked_quarantine_reason is not null then raw_payload end as raw_payload,
        checked_quarantine_reason as quarantine_reason
    from checked
)

select * from final
