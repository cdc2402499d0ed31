-- Every raw event row with all its quarantine rules applied (null = good): base_product__events'
-- own-table rules, then the event vocabulary, the JSON properties and the references to
-- users and accounts (rules in order: the docs block `quarantine_rules_events`); with the
-- user's local time and activity date.

with

events as (
    select * from {{ ref('base_product__events') }}
),

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
    from events
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
