-- Good SendGrid events (no quarantine reason), deduplicated on sg_event_id.

with

email_events as (
    select * from {{ ref('stg_sendgrid__email_events_checked') }}
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
        url,
        -- the call to action a click followed: the utm_content of Flywheel's links
        {{ url_query_parameter('url', 'utm_content') }} as cta_id,
        source_file,
        source_row,
        loaded_at
    from email_events
)

select * from final
