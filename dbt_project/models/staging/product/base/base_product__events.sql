-- Every raw event row, typed, with the typed properties later models use and the first of
-- the rules that read only the row itself it breaks (null = none). `properties` is null when
-- it is not a JSON object. stg_product__events_checked applies the rules that read other rows
-- (duplicate_id) and other tables. Rules, in order: see the docs block
-- `quarantine_rules_events`.

with

source as (
    select * from {{ source('product', 'events') }}
),

typed as (
    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('event_name') }} as event_name,
        {{ try_parse_timestamp_utc('occurred_at') }} as occurred_at,
        -- null/blank means no properties ('{}'); anything else must be a JSON object
        case
            when {{ clean_text('properties') }} is null then '{}'
            else {{ json_object_text('properties') }}
        end as properties,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns([
            'event_id', 'user_id', 'account_id', 'event_name', 'occurred_at', 'properties',
        ]) }} as raw_payload
    from source
),

checked as (
    select
        *,
        case
            when event_id is null or user_id is null or account_id is null
                then 'missing_id'
            when occurred_at is null
                then 'invalid_timestamp'
            when occurred_at > {{ dbt.dateadd('minute', var('future_tolerance_minutes'), 'loaded_at') }}
                then 'future_timestamp'
        end as quarantine_reason
    from typed
),

final as (
    select
        event_id,
        user_id,
        account_id,
        event_name,
        occurred_at,
        properties,
        {{ json_extract_text('properties', 'step') }} as step,
        {{ json_extract_text('properties', 'integration') }} as integration,
        {{ json_extract_text('properties', 'feature') }} as feature,
        {{ parse_boolean(json_extract_text('properties', 'bulk')) }} as is_bulk,
        {{ parse_boolean(json_extract_text('properties', 'automated')) }} as is_automated,
        {{ parse_number(json_extract_text('properties', 'minutes_saved')) }} as minutes_saved,
        source_file,
        source_row,
        loaded_at,
        raw_payload,
        quarantine_reason
    from checked
)

select * from final
