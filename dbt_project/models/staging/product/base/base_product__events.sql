-- Every raw event row, typed, with the first quarantine rule it breaks (null = good),
-- the user's local time and activity date, and the typed properties later models use.
-- Rules, in order: see the docs block `quarantine_rules_events`.

with

source as (
    select * from {{ source('product', 'events') }}
),

event_types as (
    select * from {{ ref('event_types') }}
),

good_users as (
    select * from {{ ref('base_product__users') }}
    where quarantine_reason is null
),

good_accounts as (
    select * from {{ ref('base_product__accounts') }}
    where quarantine_reason is null
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

ranked as (
    select
        *,
        -- copies are counted among rows that passed missing_id (the rule before)
        row_number() over (
            partition by event_id, (user_id is null or account_id is null)
            order by loaded_at, source_file, source_row
        ) as event_id_copy_number
    from typed
),

checked as (
    select
        ranked.*,
        good_users.account_id as user_account_id,
        good_users.timezone as user_timezone,
        case
            when ranked.event_id is null or ranked.user_id is null or ranked.account_id is null
                then 'missing_id'
            when ranked.event_id_copy_number > 1
                then 'duplicate_id'
            when ranked.occurred_at is null
                then 'invalid_timestamp'
            when ranked.occurred_at > {{ dbt.dateadd('minute', var('future_tolerance_minutes'), 'ranked.loaded_at') }}
                then 'future_timestamp'
            when event_types.event_name is null
                then 'unknown_event_name'
            when ranked.properties is null
                then 'invalid_json'
            when good_users.user_id is null
                then 'unknown_user'
            when good_accounts.account_id is null
                then 'unknown_account'
            when good_users.account_id <> ranked.account_id
                then 'account_mismatch'
        end as quarantine_reason
    from ranked
    left join event_types
        on ranked.event_name = event_types.event_name
    left join good_users
        on ranked.user_id = good_users.user_id
    left join good_accounts
        on ranked.account_id = good_accounts.account_id
),

localized as (
    select
        *,
        {{ convert_from_utc('occurred_at', 'user_timezone') }} as occurred_at_local
    from checked
),

final as (
    select
        event_id,
        user_id,
        account_id,
        event_name,
        occurred_at,
        occurred_at_local,
        cast(occurred_at_local as date) as activity_date,
        user_timezone,
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
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when quarantine_reason is not null then raw_payload end as raw_payload,
        quarantine_reason
    from localized
)

select * from final
