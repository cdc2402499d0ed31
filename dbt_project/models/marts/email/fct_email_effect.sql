-- The measured effect of the e-mails, per trigger type, locale and calendar month of the
-- trigger day: the delivery funnel of the e-mails sent, and the lift in active days in the
-- 7 and 28 days after the trigger day, treated against holdout triggers of the same trigger
-- type (int_email_trigger_outcomes), with Welch's 95% interval and p-value
-- (macros/welch_test.sql). Method: see the model docs; fct_email_lift has the same test over
-- every month together, where the samples are large enough to say something.
-- A full table every run, not incremental: small (trigger type × locale × month), and a month's
-- lift changes for 28 days after its last trigger and its funnel as SendGrid's events arrive.

{#- The windows of active days (days after the trigger day): int_email_trigger_outcomes. -#}
{%- set windows = [7, 28] %}

with

sends as (
    select * from {{ ref('fct_email_sends') }}
    where status = 'accepted'
),

users as (
    select * from {{ ref('dim_users') }}
),

outcomes as (
    select * from {{ ref('int_email_trigger_outcomes') }}
),

-- The e-mails sent, each in the month of its trigger day.
sent as (
    select
        sends.trigger_type,
        -- the ledger's locale; the user's language if the ledger has none
        coalesce(sends.locale, users.language) as locale,
        -- the trigger day; the day it was sent if the trigger is no longer in history
        {%- set trigger_day = 'coalesce(sends.triggered_on, cast(sends.sent_at as date))' %}
        cast({{ dbt.date_trunc('month', trigger_day) }} as date) as period,
        sends.delivered,
        sends.opened,
        sends.clicked,
        sends.bounced,
        sends.unsubscribed,
        sends.spam_reported
    from sends
    left join users
        on sends.user_id = users.user_id
    -- a send with neither day cannot be placed in a period (stg_flywheel__send_ledger warns)
    where {{ trigger_day }} is not null
),

funnel as (
    select
        trigger_type,
        locale,
        period,
        count(*) as sends,
        count(case when delivered then 1 end) as delivered,
        count(case when opened then 1 end) as opens,
        count(case when clicked then 1 end) as clicks,
        count(case when bounced then 1 end) as bounces,
        count(case when unsubscribed then 1 end) as unsubscribes,
        count(case when spam_reported then 1 end) as spam_reports
    from sent
    group by trigger_type, locale, period
),

-- One row per trigger and window with a value (a complete window).
observations as (
    {%- for days in windows %}
    select
        trigger_type,
        locale,
        period,
        arm,
        unit_id,
        'active_days_{{ days }}d' as outcome,
        cast(active_days_{{ days }}d as {{ type_double() }}) as outcome_value
    from outcomes
    where active_days_{{ days }}d is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

lifts as (
    {{ welch_lift('observations', ['trigger_type', 'locale', 'period']) }}
),

cells as (
    select
        trigger_type,
        locale,
        period
    from funnel
    union
    select
        trigger_type,
        locale,
        period
    from outcomes
),

final as (
    {%- set int_type = dbt.type_int() %}
    {%- set double = type_double() %}
    select
        cast(cells.trigger_type as {{ dbt.type_string() }}) as trigger_type,
        cast(cells.locale as {{ dbt.type_string() }}) as locale,
        cast(cells.period as date) as period,
        cast(coalesce(funnel.sends, 0) as {{ int_type }}) as sends,
        cast(coalesce(funnel.delivered, 0) as {{ int_type }}) as delivered,
        cast(coalesce(funnel.opens, 0) as {{ int_type }}) as opens,
        cast(coalesce(funnel.clicks, 0) as {{ int_type }}) as clicks,
        cast(coalesce(funnel.bounces, 0) as {{ int_type }}) as bounces,
        cast(coalesce(funnel.unsubscribes, 0) as {{ int_type }}) as unsubscribes,
        cast(coalesce(funnel.spam_reports, 0) as {{ int_type }}) as spam_reports,
        cast(funnel.delivered as {{ double }}) / nullif(funnel.sends, 0) as delivery_rate,
        cast(funnel.opens as {{ double }}) / nullif(funnel.delivered, 0) as open_rate,
        cast(funnel.clicks as {{ double }}) / nullif(funnel.delivered, 0) as click_rate,
        cast(funnel.unsubscribes as {{ double }}) / nullif(funnel.delivered, 0) as unsubscribe_rate,
        cast(funnel.bounces as {{ double }}) / nullif(funnel.sends, 0) as bounce_rate,
        cast(coalesce(lift_7d.treated_units, 0) as {{ int_type }}) as treated_units_7d,
        cast(coalesce(lift_7d.holdout_units, 0) as {{ int_type }}) as holdout_units_7d,
        cast(coalesce(lift_7d.treated_count, 0) as {{ int_type }}) as treated_count_7d,
        cast(coalesce(lift_7d.holdout_count, 0) as {{ int_type }}) as holdout_count_7d,
        cast(lift_7d.treated_mean as {{ double }}) as treated_active_days_7d,
        cast(lift_7d.holdout_mean as {{ double }}) as holdout_active_days_7d,
        coalesce(lift_7d.has_enough_data, false) as has_enough_data_7d,
        lift_7d.lift as lift_active_days_7d,
        lift_7d.lift_ci_low as lift_active_days_7d_ci_low,
        lift_7d.lift_ci_high as lift_active_days_7d_ci_high,
        lift_7d.lift_p_value as lift_active_days_7d_p_value,
        cast(coalesce(lift_28d.treated_units, 0) as {{ int_type }}) as treated_units_28d,
        cast(coalesce(lift_28d.holdout_units, 0) as {{ int_type }}) as holdout_units_28d,
        cast(coalesce(lift_28d.treated_count, 0) as {{ int_type }}) as treated_count_28d,
        cast(coalesce(lift_28d.holdout_count, 0) as {{ int_type }}) as holdout_count_28d,
        cast(lift_28d.treated_mean as {{ double }}) as treated_active_days_28d,
        cast(lift_28d.holdout_mean as {{ double }}) as holdout_active_days_28d,
        coalesce(lift_28d.has_enough_data, false) as has_enough_data_28d,
        lift_28d.lift as lift_active_days_28d,
        lift_28d.lift_ci_low as lift_active_days_28d_ci_low,
        lift_28d.lift_ci_high as lift_active_days_28d_ci_high,
        lift_28d.lift_p_value as lift_active_days_28d_p_value
    from cells
    left join funnel
        on
            cells.trigger_type = funnel.trigger_type
            and cells.locale = funnel.locale
            and cells.period = funnel.period
    {%- for days in windows %}
    left join lifts as lift_{{ days }}d
        on
            cells.trigger_type = lift_{{ days }}d.trigger_type
            and cells.locale = lift_{{ days }}d.locale
            and cells.period = lift_{{ days }}d.period
            and lift_{{ days }}d.outcome = 'active_days_{{ days }}d'
    {%- endfor %}
)

select * from final
