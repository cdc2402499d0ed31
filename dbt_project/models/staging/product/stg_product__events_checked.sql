{{
    config(
        materialized='incremental',
        unique_key=['source_file', 'source_row'],
    )
}}
-- Every raw event row with all its quarantine rules applied (null = good): base_product__events'
-- rules on the row itself, then duplicate ids, the event vocabulary, the JSON properties and
-- the references to users and accounts (rules in order: the docs block
-- `quarantine_rules_events`); with the user's local time and activity date.
-- Incremental by file: raw files are append-only and each loads whole
-- (orchestration/ingestion/loader.py), so a run checks the rows of the files it has not
-- checked yet, counting the copies of an event id it checked before, and checks again the
-- rows quarantined because their user or account was unknown or another's, since a user or
-- account file may have arrived since. A changed rule, seed or upstream model rebuilds it
-- whole (macros/incremental.sql).
{%- set base_columns = [
    'event_id', 'user_id', 'account_id', 'event_name', 'occurred_at', 'properties', 'step',
    'integration', 'feature', 'is_bulk', 'is_automated', 'minutes_saved', 'source_file',
    'source_row', 'loaded_at', 'raw_payload', 'quarantine_reason',
] %}

with

events as (
    select
        *,
        -- copies are counted among rows that passed missing_id (the rule before)
        user_id is null or account_id is null as lacks_an_id
    from {{ ref('base_product__events') }}
    {%- if is_incremental() %}
    where {{ incremental_new_values('source_file', ref('base_product__events')) }}
    {%- endif %}
),

{% if is_incremental() %}

-- the copies of the run's event ids checked by earlier runs: raw rows load in order, so
-- they come first
earlier_copies as (
    select
        event_id,
        user_id is null or account_id is null as lacks_an_id,
        count(*) as copies
    from {{ this }}
    where event_id in (select events.event_id from events)
    group by event_id, user_id is null or account_id is null
),

{% endif %}

ranked as (
    select
        {%- for column in base_columns %}
        events.{{ column }},
        {%- endfor %}
        {% if is_incremental() %}coalesce(earlier_copies.copies, 0) + {% endif %}row_number() over (
            partition by events.event_id, events.lacks_an_id
            order by events.loaded_at, events.source_file, events.source_row
        ) as event_id_copy_number
    from events
    {%- if is_incremental() %}
    left join earlier_copies
        on
            events.event_id = earlier_copies.event_id
            and events.lacks_an_id = earlier_copies.lacks_an_id
    {%- endif %}
),

{% if is_incremental() %}

to_check as (
    select * from ranked

    union all

    -- rows checked before whose user or account was unknown or another's, checked again:
    -- they passed every rule before those (so they are first copies)
    select
        {%- for column in base_columns if column != 'quarantine_reason' %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as quarantine_reason,
        1 as event_id_copy_number
    from {{ this }}
    where quarantine_reason in ('unknown_user', 'unknown_account', 'account_mismatch')
),

{% else %}

to_check as (
    select * from ranked
),

{% endif %}

event_types as (
    select * from {{ ref('event_types') }}
),

good_users as (
    select * from {{ ref('stg_product__users_checked') }}
    where quarantine_reason is null
),

good_accounts as (
    select * from {{ ref('base_product__accounts') }}
    where quarantine_reason is null
),

checked as (
    select
        events.*,
        good_users.timezone as user_timezone,
        case
            when events.quarantine_reason = 'missing_id'
                then events.quarantine_reason
            when events.event_id_copy_number > 1
                then 'duplicate_id'
            when events.quarantine_reason is not null
                then events.quarantine_reason
            when event_types.event_name is null
                then 'unknown_event_name'
            when events.properties is null
                then 'invalid_json'
            when good_users.user_id is null
                then 'unknown_user'
            when good_accounts.account_id is null
                then 'unknown_account'
            when good_users.account_id <> events.account_id
                then 'account_mismatch'
        end as checked_quarantine_reason
    from to_check as events
    left join event_types
        on events.event_name = event_types.event_name
    left join good_users
        on events.user_id = good_users.user_id
    left join good_accounts
        on events.account_id = good_accounts.account_id
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
        step,
        integration,
        feature,
        is_bulk,
        is_automated,
        minutes_saved,
        source_file,
        source_row,
        loaded_at,
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when checked_quarantine_reason is not null then raw_payload end as raw_payload,
        checked_quarantine_reason as quarantine_reason
    from localized
)

select * from final
