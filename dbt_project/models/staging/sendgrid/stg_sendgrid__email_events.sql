-- Good SendGrid events (no quarantine reason), deduplicated on sg_event_id.

with

email_events as (
    select * from {{ ref('base_sendgrid__email_events') }}
    where quarantine_reason is null
),

final as (
    select
        email_event_id,
        sg_message_id,
        send_key,
        email,
        event_type,
        event_at,
        source_file,
        source_row,
        loaded_at
    from email_events
)

select * from final
