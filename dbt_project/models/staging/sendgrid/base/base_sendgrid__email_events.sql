-- Every raw SendGrid event row, typed, with the first of the rules that read only the
-- email_events table it breaks (null = none). stg_sendgrid__email_events_checked applies the
-- rest. Rules, in order: see the docs block `quarantine_rules_email_events`.

with

source as (
    select * from {{ source('sendgrid', 'email_events') }}
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
        *,
        case
            when email_event_id is null
                then 'missing_id'
            when email_event_id_copy_number > 1
                then 'duplicate_id'
            when event_at is null
                then 'invalid_timestamp'
        end as quarantine_reason
    from ranked
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
        raw_payload,
        quarantine_reason
    from checked
)

select * from final
