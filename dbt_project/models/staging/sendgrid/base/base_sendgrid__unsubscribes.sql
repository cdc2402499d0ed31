-- Every raw unsubscribe row, typed, with the first quarantine rule it breaks
-- (null = good). Rules, in order: see the docs block `quarantine_rules_unsubscribes`.

with

source as (
    select * from {{ source('sendgrid', 'unsubscribes') }}
),

typed as (
    select
        {{ normalize_email('email') }} as email,
        {{ clean_text('unsubscribed_at') }} is null as is_unsubscribed_at_missing,
        {{ try_parse_timestamp_utc('unsubscribed_at') }} as unsubscribed_at,
        {{ clean_text(adapter.quote('group')) }} as unsubscribe_group,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns(['email', 'unsubscribed_at', 'group']) }} as raw_payload
    from source
),

checked as (
    select
        *,
        case
            when not {{ is_valid_email('email') }}
                then 'invalid_email'
            -- a missing date is accepted (the address is still suppressed); a bad one is not
            when unsubscribed_at is null and not is_unsubscribed_at_missing
                then 'invalid_timestamp'
        end as quarantine_reason
    from typed
),

final as (
    select
        {{ surrogate_key(['source_file', 'source_row']) }} as unsubscribe_id,
        email,
        unsubscribed_at,
        unsubscribe_group,
        source_file,
        source_row,
        loaded_at,
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when quarantine_reason is not null then raw_payload end as raw_payload,
        quarantine_reason
    from checked
)

select * from final
