-- The measured effect of the e-mails, per trigger type, locale and calendar month of the
-- trigger day: the delivery funnel of the e-mails sent, and the lift in active days in the
-- 7 and 28 days after the trigger day, sent (treated) against holdout triggers of the same
-- trigger type. Method: see the model docs.
-- A full table every run, not incremental: small (trigger type × locale × month), and a month's
-- lift changes for 28 days after its last trigger and its funnel as SendGrid's events arrive.

{#- The windows (days after the trigger day); `final` lists their columns by name. -#}
{%- set windows = [7, 28] %}
{%- set funnel_flags = ['delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'spam_reported'] %}

with

sends as (
    select * from {{ ref('fct_email_sends') }}
    where status = 'accepted'
),

triggers as (
    select * from {{ ref('fct_email_triggers') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

-- The experiment's units, one row per trigger: the triggers e-mailed (treated) and the
-- triggers of holdout users, who are never e-mailed (holdout), each with the day the
-- e-mail went or would have gone (the trigger day).
treated as (
    select
        sends.send_key,
        sends.user_id,
        sends.trigger_type,
        -- the ledger's locale; the user's language if the ledger has none
        coalesce(sends.locale, users.language) as locale,
        -- the trigger day; the day it was sent if the trigger is no longer in history
        coalesce(sends.triggered_on, cast(sends.sent_at as date)) as exposure_date,
        {%- for flag in funnel_flags %}
        sends.{{ flag }},
        {%- endfor %}
        true as is_treated
    from sends
    left join users
        on sends.user_id = users.user_id
    -- a send with neither day cannot be placed in a period (stg_flywheel__send_ledger warns)
    where coalesce(sends.triggered_on, cast(sends.sent_at as date)) is not null
),

holdout as (
    select
        triggers.send_key,
        triggers.user_id,
        triggers.trigger_type,
        -- the language the e-mail would have been written in (as in rpt_email_payloads)
        users.language as locale,
        triggers.triggered_on as exposure_date,
        {%- for flag in funnel_flags %}
        cast(null as boolean) as {{ flag }},
        {%- endfor %}
        false as is_treated
    from triggers
    inner join users
        on triggers.user_id = users.user_id
    where triggers.suppressed_reason = 'holdout'
),

exposures as (
    select * from treated
    union all
    select * from holdout
),

-- Active days on days D+1 .. D+N after the exposure day D (the day itself is left out:
-- the e-mail may arrive after that day's activity).
window_activity as (
    select
        {%- for days in windows %}
        count(
            case
                when
                    activity.is_active
                    and activity.activity_date <= {{ dbt.dateadd('day', days, 'exposures.exposure_date') }}
                    then 1
            end
        ) as active_days_{{ days }}d,
        {%- endfor %}
        exposures.send_key,
        exposures.is_treated
    from exposures
    inner join activity
        on
            exposures.user_id = activity.user_id
            and exposures.exposure_date < activity.activity_date
            and {{ dbt.dateadd('day', windows | max, 'exposures.exposure_date') }} >= activity.activity_date
    group by exposures.send_key, exposures.is_treated
),

-- A window counts only when it is complete: D + N <= as_of_date (the last day built).
exposure_outcomes as (
    select
        exposures.*,
        {%- for days in windows %}
        case
            when {{ dbt.dateadd('day', days, 'exposures.exposure_date') }} <= {{ as_of_date() }}
                then coalesce(window_activity.active_days_{{ days }}d, 0)
        end as active_days_{{ days }}d,
        {%- endfor %}
        cast({{ dbt.date_trunc('month', 'exposures.exposure_date') }} as date) as period
    from exposures
    left join window_activity
        on
            exposures.send_key = window_activity.send_key
            and exposures.is_treated = window_activity.is_treated
),

effect as (
    select
        trigger_type,
        locale,
        period,
        {%- for days in windows %}
        count(case when is_treated then active_days_{{ days }}d end) as treated_count_{{ days }}d,
        count(case when not is_treated then active_days_{{ days }}d end) as holdout_count_{{ days }}d,
        avg(
            case when is_treated then cast(active_days_{{ days }}d as {{ type_double() }}) end
        ) as treated_active_days_{{ days }}d,
        avg(
            case when not is_treated then cast(active_days_{{ days }}d as {{ type_double() }}) end
        ) as holdout_active_days_{{ days }}d,
        {%- endfor %}
        count(case when is_treated then 1 end) as sends,
        count(case when delivered then 1 end) as delivered,
        count(case when opened then 1 end) as opens,
        count(case when clicked then 1 end) as clicks,
        count(case when bounced then 1 end) as bounces,
        count(case when unsubscribed then 1 end) as unsubscribes,
        count(case when spam_reported then 1 end) as spam_reports
    from exposure_outcomes
    group by trigger_type, locale, period
),

final as (
    {%- set int_type = dbt.type_int() %}
    {%- set double = type_double() %}
    select
        cast(trigger_type as {{ dbt.type_string() }}) as trigger_type,
        cast(locale as {{ dbt.type_string() }}) as locale,
        cast(period as date) as period,
        cast(sends as {{ int_type }}) as sends,
        cast(delivered as {{ int_type }}) as delivered,
        cast(opens as {{ int_type }}) as opens,
        cast(clicks as {{ int_type }}) as clicks,
        cast(bounces as {{ int_type }}) as bounces,
        cast(unsubscribes as {{ int_type }}) as unsubscribes,
        cast(spam_reports as {{ int_type }}) as spam_reports,
        cast(delivered as {{ double }}) / nullif(sends, 0) as delivery_rate,
        cast(opens as {{ double }}) / nullif(delivered, 0) as open_rate,
        cast(clicks as {{ double }}) / nullif(delivered, 0) as click_rate,
        cast(unsubscribes as {{ double }}) / nullif(delivered, 0) as unsubscribe_rate,
        cast(bounces as {{ double }}) / nullif(sends, 0) as bounce_rate,
        -- the lift: treated mean - holdout mean, null when either group has no complete window
        cast(treated_count_7d as {{ int_type }}) as treated_count_7d,
        cast(holdout_count_7d as {{ int_type }}) as holdout_count_7d,
        cast(treated_active_days_7d as {{ double }}) as treated_active_days_7d,
        cast(holdout_active_days_7d as {{ double }}) as holdout_active_days_7d,
        cast(treated_active_days_7d - holdout_active_days_7d as {{ double }}) as lift_active_days_7d,
        cast(treated_count_28d as {{ int_type }}) as treated_count_28d,
        cast(holdout_count_28d as {{ int_type }}) as holdout_count_28d,
        cast(treated_active_days_28d as {{ double }}) as treated_active_days_28d,
        cast(holdout_active_days_28d as {{ double }}) as holdout_active_days_28d,
        cast(treated_active_days_28d - holdout_active_days_28d as {{ double }}) as lift_active_days_28d
    from effect
)

select * from final
