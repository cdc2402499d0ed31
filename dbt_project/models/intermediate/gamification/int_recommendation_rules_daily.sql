-- One row per user, day and recommendation of seed `recommendations`: whether the user is a
-- candidate for it that day (the rule in docs/engagement-model.md, "Recommendations"), whether
-- the user already does it (an adopter: a peer whose time saved estimates the gain), the
-- user's weekly hours saved, and the numbers a sentence about it needs.
-- Users only: an account-level recommendation would repeat its users' ones.

with

entity_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
),

users as (
    select
        entity_id as user_id,
        account_id,
        employee_band,
        metric_date,
        days_since_start,
        entity_start_date,
        last_onboarding_step_date,
        onboarding_steps_total,
        has_crm,
        integrations_total,
        reports_28d,
        workflows_28d,
        bulk_workflows_28d,
        bulk_actions_28d,
        automation_runs_28d,
        schedules_total,
        -- 28 days = 4 weeks
        hours_saved_28d / 4.0 as weekly_hours_saved,
        100.0 * bulk_workflows_28d / nullif(workflows_28d, 0) as bulk_workflow_share_pct
    from entity_metrics
    where entity_type = 'user'
),

bulk_cohorts as (
    -- the share of workflows done in bulk by the users of a band (pooled) on a day; not
    -- published (null) when fewer than min_cohort_size users of the band had workflows
    select
        employee_band,
        metric_date,
        case
            when count(case when workflows_28d > 0 then 1 end) >= {{ rule('min_cohort_size') }}
                then 100.0 * sum(bulk_workflows_28d) / nullif(sum(workflows_28d), 0)
        end as cohort_bulk_workflow_share_pct
    from users
    group by employee_band, metric_date
),

users_with_cohort as (
    select
        users.*,
        bulk_cohorts.cohort_bulk_workflow_share_pct
    from users
    left join bulk_cohorts
        on
            users.employee_band = bulk_cohorts.employee_band
            and users.metric_date = bulk_cohorts.metric_date
),

rules as (
    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        weekly_hours_saved,
        'automate_reports' as recommendation,
        reports_28d >= {{ rule('recommendation_min_reports_28d') }}
        and automation_runs_28d = 0 as is_candidate,
        automation_runs_28d > 0 as is_adopter,
        'reports_28d' as metric,
        cast(reports_28d as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        weekly_hours_saved,
        'use_bulk_actions' as recommendation,
        workflows_28d >= {{ rule('recommendation_min_workflows_28d') }}
        and case
            when cohort_bulk_workflow_share_pct is not null
                then bulk_workflow_share_pct < cohort_bulk_workflow_share_pct
            -- no publishable cohort share: recommend bulk only to users who never use it
            else bulk_workflows_28d = 0
        end as is_candidate,
        bulk_workflows_28d > 0 or bulk_actions_28d > 0 as is_adopter,
        'bulk_workflow_share_pct_28d' as metric,
        cast(coalesce(bulk_workflow_share_pct, 0) as {{ type_double() }}) as metric_value,
        cast(cohort_bulk_workflow_share_pct as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        weekly_hours_saved,
        'connect_crm' as recommendation,
        not has_crm as is_candidate,
        has_crm as is_adopter,
        'integrations_total' as metric,
        cast(integrations_total as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        weekly_hours_saved,
        'finish_onboarding' as recommendation,
        onboarding_steps_total < {{ rule('stage_onboarded_steps') }}
        -- no step yet: idle since the user's first day
        and {{ dbt.datediff('coalesce(last_onboarding_step_date, entity_start_date)', 'metric_date', 'day') }}
        > {{ rule('onboarding_stuck_days') }} as is_candidate,
        onboarding_steps_total >= {{ rule('stage_onboarded_steps') }} as is_adopter,
        'onboarding_steps_total' as metric,
        cast(onboarding_steps_total as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        weekly_hours_saved,
        'schedule_reports' as recommendation,
        reports_28d >= {{ rule('recommendation_min_reports_28d') }}
        and schedules_total = 0 as is_candidate,
        schedules_total > 0 as is_adopter,
        'reports_28d' as metric,
        cast(reports_28d as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort
),

final as (
    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        recommendation,
        coalesce(is_candidate, false) as is_candidate,
        coalesce(is_adopter, false) as is_adopter,
        weekly_hours_saved,
        metric,
        metric_value,
        cohort_metric_value
    from rules
)

select * from final
