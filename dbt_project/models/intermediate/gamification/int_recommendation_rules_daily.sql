{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'metric_date', 'recommendation'],
        meta={'window_column': 'metric_date'},
    )
}}
-- One row per user, day and recommendation of seed `recommendations`: whether it applies to
-- the user that day (docs/engagement-model.md, "Recommendations"), whether it is already done
-- (by the user, or by the user's account for scope 'account'), the user's weekly hours
-- saved, and the numbers a sentence about it needs.
--
-- A recommendation applies when all three hold:
--   1. the user's stage that day (fct_engagement_stages) is one of the seed's `stages`;
--   2. its prerequisites hold (the SQL of its branch below, `meets_prerequisites`);
--   3. it is not already done: by the user (scope 'user') or by the account (scope
--      'account', the account's own metrics of int_entity_metrics_daily).
-- A user for whom it is done is a peer whose time saved estimates the gain for others.
-- Users only: an account-level recommendation would repeat its users' ones.
-- Incremental (macros/incremental.sql): every rule reads one day, so a run computes the days
-- of its window, with no state carried.

{%- if is_incremental() %}
{#- a user loaded late moves the window back to the user's first day, since the pooled cohorts
    of the user's band (bulk_cohorts) change on those days for everyone #}
{%- set window = incremental_window('metric_date', late_entities={
    'relation': ref('int_entity_metrics_daily'), 'key': 'entity_id', 'this_key': 'user_id',
    'where': "upstream.entity_type = 'user'",
}) %}
{%- endif %}

with

entity_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
    {%- if is_incremental() %}
    where metric_date between {{ window.start }} and {{ window.end }}
    {%- endif %}
),

user_stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where entity_type = 'user'
    {%- if is_incremental() %}
        and as_of_date between {{ window.start }} and {{ window.end }}
    {%- endif %}
),

activity_events as (
    select * from {{ ref('int_activity_events') }}
),

recommendations as (
    select * from {{ ref('recommendations') }}
),

-- The first local day of the product data: the earliest activity_date of any event up to
-- as_of_date. Events are only ever added after it, so every build from that day on (day by
-- day or a full refresh) finds the same day.
product_data as (
    select min(activity_date) as data_start_date
    from activity_events
),

account_metrics as (
    select
        entity_id as account_id,
        metric_date,
        onboarding_steps_total as account_onboarding_steps_total,
        has_crm as account_has_crm,
        reports_28d as account_reports_28d,
        workflows_28d as account_workflows_28d,
        bulk_workflows_28d as account_bulk_workflows_28d,
        bulk_actions_28d as account_bulk_actions_28d,
        automated_workflows_28d as account_automated_workflows_28d,
        automation_runs_28d as account_automation_runs_28d,
        schedules_total as account_schedules_total,
        invites_total as account_invites_total
    from entity_metrics
    where entity_type = 'account'
),

users as (
    select
        entity_metrics.entity_id as user_id,
        entity_metrics.account_id,
        entity_metrics.employee_band,
        entity_metrics.metric_date,
        user_stages.stage,
        entity_metrics.entity_start_date,
        entity_metrics.last_onboarding_step_date,
        entity_metrics.onboarding_steps_total,
        entity_metrics.has_crm,
        entity_metrics.integrations_total,
        entity_metrics.reports_28d,
        entity_metrics.workflows_28d,
        entity_metrics.bulk_workflows_28d,
        entity_metrics.bulk_actions_28d,
        entity_metrics.automated_workflows_28d,
        entity_metrics.automation_runs_28d,
        entity_metrics.schedules_total,
        entity_metrics.invites_total,
        account_metrics.account_onboarding_steps_total,
        account_metrics.account_has_crm,
        account_metrics.account_bulk_workflows_28d,
        account_metrics.account_bulk_actions_28d,
        account_metrics.account_automated_workflows_28d,
        account_metrics.account_automation_runs_28d,
        account_metrics.account_schedules_total,
        account_metrics.account_invites_total,
        -- a user whose history (created or first active) starts before the product data:
        -- signed up before the data's first day, so their onboarding is not in the data.
        -- Judged from the data's first day on; before it nobody's onboarding is judged.
        coalesce(
            entity_metrics.entity_start_date < product_data.data_start_date, false
        ) as signed_up_before_data,
        coalesce(entity_metrics.metric_date >= product_data.data_start_date, false) as is_within_data,
        -- 28 days = 4 weeks
        entity_metrics.hours_saved_28d / 4.0 as weekly_hours_saved,
        100.0 * entity_metrics.bulk_workflows_28d / nullif(entity_metrics.workflows_28d, 0)
            as bulk_workflow_share_pct
    from entity_metrics
    cross join product_data
    left join user_stages
        on
            entity_metrics.entity_id = user_stages.entity_id
            and entity_metrics.metric_date = user_stages.as_of_date
    left join account_metrics
        on
            entity_metrics.account_id = account_metrics.account_id
            and entity_metrics.metric_date = account_metrics.metric_date
    where entity_metrics.entity_type = 'user'
),

bulk_cohorts as (
    -- the share of workflows done in bulk by the users of a band (pooled) on a day, the
    -- comparison a sentence can quote; not published (null) when fewer than min_cohort_size
    -- users of the band had workflows
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
        *,
        'automate_reports' as recommendation,
        reports_28d >= {{ rule('recommendation_min_reports_28d') }} as meets_prerequisites,
        automation_runs_28d > 0 as is_done_by_user,
        account_automation_runs_28d > 0 as is_done_by_account,
        'reports_28d' as metric,
        cast(reports_28d as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'automate_workflows' as recommendation,
        workflows_28d >= {{ rule('recommendation_min_workflows_28d') }} as meets_prerequisites,
        automated_workflows_28d > 0 as is_done_by_user,
        account_automated_workflows_28d > 0 as is_done_by_account,
        'workflows_28d' as metric,
        cast(workflows_28d as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'use_bulk_actions' as recommendation,
        workflows_28d >= {{ rule('recommendation_min_workflows_28d') }} as meets_prerequisites,
        bulk_workflows_28d > 0 or bulk_actions_28d > 0 as is_done_by_user,
        account_bulk_workflows_28d > 0 or account_bulk_actions_28d > 0 as is_done_by_account,
        'bulk_workflow_share_pct_28d' as metric,
        cast(coalesce(bulk_workflow_share_pct, 0) as {{ type_double() }}) as metric_value,
        cast(cohort_bulk_workflow_share_pct as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'schedule_reports' as recommendation,
        reports_28d >= {{ rule('recommendation_min_reports_28d') }} as meets_prerequisites,
        schedules_total > 0 as is_done_by_user,
        account_schedules_total > 0 as is_done_by_account,
        'reports_28d' as metric,
        cast(reports_28d as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'connect_crm' as recommendation,
        true as meets_prerequisites,
        has_crm as is_done_by_user,
        account_has_crm as is_done_by_account,
        'integrations_total' as metric,
        cast(integrations_total as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'finish_onboarding' as recommendation,
        is_within_data
        and not signed_up_before_data
        -- no step yet: idle since the user's first day
        and {{ dbt.datediff('coalesce(last_onboarding_step_date, entity_start_date)', 'metric_date', 'day') }}
        > {{ rule('onboarding_stuck_days') }} as meets_prerequisites,
        onboarding_steps_total >= {{ rule('stage_onboarded_steps') }} as is_done_by_user,
        account_onboarding_steps_total >= {{ rule('stage_onboarded_steps') }} as is_done_by_account,
        'onboarding_steps_total' as metric,
        cast(onboarding_steps_total as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort

    union all

    select
        *,
        'invite_colleagues' as recommendation,
        -- only a user who saves time of their own has a gain to invite colleagues to
        weekly_hours_saved > 0 as meets_prerequisites,
        invites_total > 0 as is_done_by_user,
        account_invites_total > 0 as is_done_by_account,
        'invites_total' as metric,
        cast(invites_total as {{ type_double() }}) as metric_value,
        cast(null as {{ type_double() }}) as cohort_metric_value
    from users_with_cohort
),

judged as (
    select
        rules.user_id,
        rules.account_id,
        rules.employee_band,
        rules.metric_date,
        rules.stage,
        rules.recommendation,
        recommendations.scope,
        coalesce(
            '|' || recommendations.stages || '|' like '%|' || rules.stage || '|%', false
        ) as is_for_stage,
        coalesce(rules.meets_prerequisites, false) as meets_prerequisites,
        coalesce(rules.is_done_by_user, false) as is_done_by_user,
        coalesce(rules.is_done_by_account, false) as is_done_by_account,
        rules.weekly_hours_saved,
        rules.metric,
        rules.metric_value,
        rules.cohort_metric_value
    from rules
    inner join recommendations
        on rules.recommendation = recommendations.recommendation
),

final as (
    select
        user_id,
        account_id,
        employee_band,
        metric_date,
        stage,
        recommendation,
        scope,
        is_for_stage,
        meets_prerequisites,
        is_done_by_user,
        is_done_by_account,
        -- done: a peer whose time saved estimates the gain for others
        case when scope = 'account' then is_done_by_account else is_done_by_user end as is_done,
        is_for_stage
        and meets_prerequisites
        and not case when scope = 'account' then is_done_by_account else is_done_by_user end
            as is_candidate,
        weekly_hours_saved,
        metric,
        metric_value,
        cohort_metric_value
    from judged
)

select * from final
