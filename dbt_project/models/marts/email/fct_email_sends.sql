-- One row per e-mail the sender attempted (the send ledger), with its outcome and the
-- delivery funnel from SendGrid's events: delivered, opened, clicked, bounced, dropped,
-- unsubscribed, reported as spam.
-- A full table every run, not incremental: it grows with e-mails sent, not with events, and an
-- old send's funnel changes as SendGrid's events arrive days later.

with

send_ledger as (
    select * from {{ ref('stg_flywheel__send_ledger') }}
),

triggers as (
    select * from {{ ref('fct_email_triggers') }}
),

email_events as (
    select * from {{ ref('stg_sendgrid__email_events') }}
),

events_by_send_key as (
    -- the normal case: the event carries the send_key custom arg
    select
        send_key,
        event_type,
        event_at
    from email_events
    where send_key is not null
),

events_by_message_id as (
    -- events without the custom arg: SendGrid's sg_message_id is the X-Message-Id the API
    -- returned (provider_message_id), a dot, then a suffix of its own
    select
        send_ledger.send_key,
        email_events.event_type,
        email_events.event_at
    from email_events
    inner join send_ledger
        on {{ dbt.split_part('email_events.sg_message_id', "'.'", 1) }} = send_ledger.provider_message_id
    where email_events.send_key is null
),

send_events as (
    select * from events_by_send_key
    union all
    select * from events_by_message_id
),

funnel as (
    select
        send_key,
        count(case when event_type = 'delivered' then 1 end) > 0 as is_delivered,
        count(case when event_type = 'open' then 1 end) > 0 as is_opened,
        count(case when event_type = 'click' then 1 end) > 0 as is_clicked,
        count(case when event_type = 'bounce' then 1 end) > 0 as is_bounced,
        count(case when event_type = 'dropped' then 1 end) > 0 as is_dropped,
        count(case when event_type in ('unsubscribe', 'group_unsubscribe') then 1 end) > 0 as is_unsubscribed,
        count(case when event_type = 'spamreport' then 1 end) > 0 as is_spam_reported,
        min(case when event_type = 'open' then event_at end) as first_opened_at,
        min(case when event_type = 'click' then event_at end) as first_clicked_at
    from send_events
    group by send_key
),

final as (
    select
        cast(send_ledger.send_key as {{ dbt.type_string() }}) as send_key,
        -- send_key is user_id:trigger_type:period
        cast(
            coalesce(triggers.user_id, {{ dbt.split_part('send_ledger.send_key', "':'", 1) }})
            as {{ dbt.type_string() }}
        ) as user_id,
        cast(coalesce(send_ledger.trigger_type, triggers.trigger_type) as {{ dbt.type_string() }}) as trigger_type,
        cast(triggers.triggered_on as date) as triggered_on,
        cast(send_ledger.locale as {{ dbt.type_string() }}) as locale,
        -- the variant it was sent as (the ledger), else its trigger's
        cast(coalesce(send_ledger.variant_id, triggers.variant_id) as {{ dbt.type_string() }}) as variant_id,
        cast(send_ledger.backend as {{ dbt.type_string() }}) as backend,
        cast(send_ledger.status as {{ dbt.type_string() }}) as status,
        cast(send_ledger.attempts as {{ dbt.type_int() }}) as attempts,
        cast(send_ledger.accepted_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(send_ledger.provider_message_id as {{ dbt.type_string() }}) as provider_message_id,
        cast(send_ledger.error as {{ dbt.type_string() }}) as error,
        coalesce(funnel.is_delivered, false) as delivered,
        coalesce(funnel.is_opened, false) as opened,
        coalesce(funnel.is_clicked, false) as clicked,
        coalesce(funnel.is_bounced, false) as bounced,
        coalesce(funnel.is_dropped, false) as dropped,
        coalesce(funnel.is_unsubscribed, false) as unsubscribed,
        coalesce(funnel.is_spam_reported, false) as spam_reported,
        cast(funnel.first_opened_at as {{ dbt.type_timestamp() }}) as first_opened_at,
        cast(funnel.first_clicked_at as {{ dbt.type_timestamp() }}) as first_clicked_at
    from send_ledger
    left join triggers
        on send_ledger.send_key = triggers.send_key
    left join funnel
        on send_ledger.send_key = funnel.send_key
)

select * from final
