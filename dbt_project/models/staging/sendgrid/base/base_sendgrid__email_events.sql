-- Every raw SendGrid event row, typed, with the first quarantine rule it breaks
-- (null = good). Rules, in order: see the docs block `quarantine_rules_email_events`.

with

source as (
    select * from {{ source('sendgrid', 'email_events') }}
),

sendgrid_event_types as (
    select * from {{ ref('sendgrid_event_types') }}
),

typed as (
    select
        {{ clean_text('sg_event_id') }} as email_event_id,
        {{ clean_text('sg_message_id') }} as sg_message_id,
        {{ normalize_email('email') }} as email,
        lower({{ clean_text('event') }}) as event_type,
        {{ try_parse_epoch_seconds_utc(adapter.quote('timestamp')) }} as event_at,
        {{ clean_text('send_key') }} as send_key,
        {{ clean_text('url') }} as url,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns([
            'sg_event_id', 'sg_message_id', 'email', 'event', 'timestamp', 'send_key', 'url',
        ]) }} as raw_payload
    from source
),

ranked as (
    select
        *,
        -- SendGrid retries a delivery until it is acknowledged: the first copy wins
        row_number() over (
            partition by email_event_id
            order by loaded_at, source_file, source_row
        ) as email_event_id_copy_number
    from typed
),

checked as (
    select
        ranked.*,
        case
            when ranked.email_event_id is null
                then 'missing_id'
            when ranked.email_event_id_copy_number > 1
                then 'duplicate_id'
            when ranked.event_at is null
                then 'invalid_timestamp'
            when sendgrid_event_types.event_type is null
                then 'unknown_event_name'
            when not {{ is_valid_email('ranked.email') }}
                then 'invalid_email'
        end as quarantine_reason
    from ranked
    left join sendgrid_event_types
        on ranked.event_type = sendgrid_event_types.event_type
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
        case when quarantine_reason is not null then raw_payload end as raw_payload,
        quarantine_reason
    from checked
)

select * from final
