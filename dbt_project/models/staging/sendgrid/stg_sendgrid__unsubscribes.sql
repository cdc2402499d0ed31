-- Good unsubscribes (no quarantine reason). One row per raw row: the same address may
-- appear more than once (e.g. in several exports or for several groups).

with

unsubscribes as (
    select * from {{ ref('base_sendgrid__unsubscribes') }}
    where quarantine_reason is null
),

final as (
    select
        unsubscribe_id,
        email,
        unsubscribe_group,
        unsubscribed_at,
        source_file,
        source_row,
        loaded_at
    from unsubscribes
)

select * from final
