{{
    config(
        materialized='incremental',
        unique_key=['send_key'],
        meta={'window_column': 'triggered_on'},
    )
}}
-- The recommendations an e-mail shows, pivoted: one row per e-mail to send (fct_email_triggers
-- with no suppressed_reason) that shows at least one, with at most 2, each once. A user's own
-- e-mail shows the user's recommendations of the trigger's day (int_recommendation_estimates_daily
-- ranks them; the one the trigger pins comes first when it applies that day, then the
-- best-ranked others). The monthly team report shows the account's next steps: the
-- account-scope recommendations that apply to any of its users that day, with the hours a
-- week they would save those users together, the most first.
-- A table, not a view: it reads the estimates, and its tests would each compute it again
-- before rpt_email_payloads does. Incremental (macros/incremental.sql): an e-mail reads the
-- estimates of its own day, so a run computes the e-mails of its window, carrying nothing.

{%- if is_incremental() %}
{%- set window = incremental_window('triggered_on') %}
{%- endif %}

with

triggers as (
    {{ emails_to_send(window.start, window.end) if is_incremental() else emails_to_send() }}
),

recipients as (
    select * from {{ ref('stg_product__users') }}
),

-- every recommendation that applies to the user that day, ranked (fct_recommendations keeps
-- only the best; a pinned one may rank lower)
recommendations as (
    select * from {{ ref('int_recommendation_estimates_daily') }}
    {%- if is_incremental() %}
    where metric_date between {{ window.start }} and {{ window.end }}
    {%- endif %}
),

account_recommendations as (
    select * from {{ ref('int_recommendation_estimates_daily') }}
    where
        scope = 'account'
        {%- if is_incremental() %}
        and metric_date between {{ window.start }} and {{ window.end }}
        {%- endif %}
),


team_reports as (
    select
        triggers.send_key,
        triggers.triggered_on,
        recipients.account_id
    from triggers
    inner join recipients
        on triggers.user_id = recipients.user_id
    where triggers.trigger_type = 'monthly_team_report'
),

team_recommendations as (
    select
        team_reports.send_key,
        team_reports.triggered_on,
        account_recommendations.recommendation,
        account_recommendations.cta_id,
        account_recommendations.app_path,
        -- rounded: a sum of doubles depends on the order it adds them in, and a day-by-day
        -- build must equal a full refresh
        cast(
            round(cast(sum(account_recommendations.est_hours_saved_per_week) as {{ dbt.type_numeric() }}), 4)
            as {{ type_double() }}
        ) as est_hours_saved_per_week
    from team_reports
    inner join account_recommendations
        on
            team_reports.account_id = account_recommendations.account_id
            and team_reports.triggered_on = account_recommendations.metric_date
    group by
        team_reports.send_key,
        team_reports.triggered_on,
        account_recommendations.recommendation,
        account_recommendations.cta_id,
        account_recommendations.app_path
),

recommendation_options as (
    select
        triggers.send_key,
        triggers.triggered_on,
        recommendations.recommendation,
        recommendations.est_hours_saved_per_week,
        recommendations.cta_id,
        recommendations.app_path,
        case
            when recommendations.recommendation = triggers.pinned_recommendation
                then 0
            else 1
        end as pin_order,
        recommendations.recommendation_rank as option_rank
    from triggers
    inner join recommendations
        on
            triggers.user_id = recommendations.user_id
            and triggers.triggered_on = recommendations.metric_date
    where triggers.trigger_type <> 'monthly_team_report'

    union all

    select
        send_key,
        triggered_on,
        recommendation,
        est_hours_saved_per_week,
        cta_id,
        app_path,
        1 as pin_order,
        row_number() over (
            partition by send_key
            order by est_hours_saved_per_week desc, recommendation asc
        ) as option_rank
    from team_recommendations
),

payload_recommendations as (
    select
        send_key,
        triggered_on,
        recommendation,
        est_hours_saved_per_week,
        cta_id,
        app_path,
        row_number() over (
            partition by send_key
            order by pin_order, option_rank
        ) as payload_rank
    from recommendation_options
),

final as (
    select
        first_recommendation.send_key,
        first_recommendation.triggered_on,
        first_recommendation.recommendation as recommendation_1,
        first_recommendation.est_hours_saved_per_week as recommendation_1_hours_per_week,
        first_recommendation.cta_id as recommendation_1_cta_id,
        first_recommendation.app_path as recommendation_1_app_path,
        second_recommendation.recommendation as recommendation_2,
        second_recommendation.est_hours_saved_per_week as recommendation_2_hours_per_week,
        second_recommendation.cta_id as recommendation_2_cta_id,
        second_recommendation.app_path as recommendation_2_app_path
    from payload_recommendations as first_recommendation
    left join payload_recommendations as second_recommendation
        on
            first_recommendation.send_key = second_recommendation.send_key
            and second_recommendation.payload_rank = 2
    where first_recommendation.payload_rank = 1
)

select * from final
