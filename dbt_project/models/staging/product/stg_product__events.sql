-- Good events (no quarantine reason): UTC and user-local time, the local activity date,
-- normalised properties and the typed properties later models use.

with

events as (
    select * from {{ ref('stg_product__events_checked') }}
    where quarantine_reason is null
),

final as (
    select
        event_id,
        user_id,
        account_id,
        event_name,
        occurred_at,
        occurred_at_local,
        activity_date,
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
        loaded_at
    from events
)

select * from final
