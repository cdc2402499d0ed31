-- One row per e-mail (send_key) and call to action clicked: how often and when the
-- recipient followed it. A click is attributed to its call to action by the link's
-- utm_content (every link into the product carries one: the e-mail's button, or a
-- recommendation card), and to its e-mail by the send_key custom arg.
-- A full table every run, not incremental: it grows with clicks, not with events, and SendGrid
-- reports a click days after the e-mail.

with

triggers as (
    select * from {{ ref('fct_email_triggers') }}
),

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

email_events as (
    select * from {{ ref('stg_sendgrid__email_events') }}
    where event_type = 'click' and cta_id is not null and send_key is not null
),

clicks as (
    select
        send_key,
        cta_id,
        count(*) as clicks,
        min(event_at) as first_clicked_at
    from email_events
    group by send_key, cta_id
),

final as (
    select
        cast(clicks.send_key as {{ dbt.type_string() }}) as send_key,
        cast(triggers.trigger_type as {{ dbt.type_string() }}) as trigger_type,
        cast(clicks.cta_id as {{ dbt.type_string() }}) as cta_id,
        -- the e-mail's button, rather than a recommendation card
        coalesce(clicks.cta_id = trigger_priorities.cta_id, false) as is_primary_cta,
        cast(clicks.clicks as {{ dbt.type_int() }}) as clicks,
        cast(clicks.first_clicked_at as {{ dbt.type_timestamp() }}) as first_clicked_at
    from clicks
    -- the trigger, while it is in history (null after a full refresh dropped it)
    left join triggers
        on clicks.send_key = triggers.send_key
    left join trigger_priorities
        on triggers.trigger_type = trigger_priorities.trigger_type
)

select * from final
