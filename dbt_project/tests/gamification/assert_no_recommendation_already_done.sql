-- No recommendation is made for something already done that day: not in fct_recommendations,
-- not as recommendation_1 or recommendation_2 of an e-mail payload. "Done" is read from the
-- metrics themselves (int_entity_metrics_daily), not from the rules' own flags: the user's
-- metrics, and for a recommendation of scope 'account' (seed recommendations) also the
-- metrics of the user's account. Returns the offending recommendations.

with

recommendations as (
    select * from {{ ref('recommendations') }}
),

fct_recommendations as (
    select * from {{ ref('fct_recommendations') }}
),

payloads as (
    select * from {{ ref('rpt_email_payloads') }}
),

entity_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
),

made as (
    select
        'fct_recommendations' as made_in,
        entity_id as user_id,
        account_id,
        as_of_date as made_on,
        recommendation
    from fct_recommendations

    union all

    select
        'rpt_email_payloads' as made_in,
        user_id,
        account_id,
        triggered_on as made_on,
        recommendation_1 as recommendation
    from payloads
    where recommendation_1 is not null

    union all

    select
        'rpt_email_payloads' as made_in,
        user_id,
        account_id,
        triggered_on as made_on,
        recommendation_2 as recommendation
    from payloads
    where recommendation_2 is not null
),

-- what each entity has done, per day, one row per recommendation it has done
done as (
    select entity_type, entity_id, metric_date, 'automate_reports' as recommendation
    from entity_metrics where automation_runs_28d > 0
    union all
    select entity_type, entity_id, metric_date, 'automate_workflows' as recommendation
    from entity_metrics where automated_workflows_28d > 0
    union all
    select entity_type, entity_id, metric_date, 'use_bulk_actions' as recommendation
    from entity_metrics where bulk_workflows_28d > 0 or bulk_actions_28d > 0
    union all
    select entity_type, entity_id, metric_date, 'schedule_reports' as recommendation
    from entity_metrics where schedules_total > 0
    union all
    select entity_type, entity_id, metric_date, 'connect_crm' as recommendation
    from entity_metrics where has_crm
    union all
    select entity_type, entity_id, metric_date, 'finish_onboarding' as recommendation
    from entity_metrics where onboarding_steps_total >= {{ rule('stage_onboarded_steps') }}
    union all
    select entity_type, entity_id, metric_date, 'invite_colleagues' as recommendation
    from entity_metrics where invites_total > 0
),

final as (
    select
        made.made_in,
        made.user_id,
        made.made_on,
        made.recommendation,
        case when done_by_user.entity_id is not null then 'user' else 'account' end as done_by
    from made
    inner join recommendations
        on made.recommendation = recommendations.recommendation
    left join done as done_by_user
        on
            done_by_user.entity_type = 'user'
            and made.user_id = done_by_user.entity_id
            and made.made_on = done_by_user.metric_date
            and made.recommendation = done_by_user.recommendation
    left join done as done_by_account
        on
            recommendations.scope = 'account'
            and done_by_account.entity_type = 'account'
            and made.account_id = done_by_account.entity_id
            and made.made_on = done_by_account.metric_date
            and made.recommendation = done_by_account.recommendation
    where done_by_user.entity_id is not null or done_by_account.entity_id is not null
)

select * from final
