{{
    config(
        materialized='incremental',
        unique_key=['send_key'],
        meta={'window_column': 'triggered_on'},
    )
}}
-- Every e-mail trigger in history, one row per send_key, before arbitration.
-- Each trigger type is one CTE reading the fact that defines it; the rules are in
-- docs/engagement-model.md ("Triggers and arbitration") and in this model's docs.
-- Incremental (macros/incremental.sql) on triggered_on: every fact is of its day or earlier,
-- so a run reads the window's days of each fact, except where a trigger fires once per
-- period: feature_adoption_prompt reads its month from the 1st, and a user's quarter with an
-- expansion_invite stored before the window gets no other. A personal best's detail_value
-- is its week's count, which grows until the week ends: the personal bests of the week of
-- window_start are read again and replace their stored rows (same send_key). A weekly_report
-- omitted while its local Sunday had not ended (events_through) is added by a later run
-- whose window still holds that Sunday (docs/operations.md).

{%- set streak_start = dbt.dateadd('day', '1 - user_metrics.current_streak_days', 'user_metrics.metric_date') %}
{%- if is_incremental() %}
{%- set window = incremental_window('triggered_on') %}
{%- else %}
{#- a full refresh: every day #}
{%- set window = {'start': "cast('1900-01-01' as date)", 'end': "cast('9999-12-31' as date)"} %}
{%- endif %}
{%- set window_days = 'between ' ~ window.start ~ ' and ' ~ window.end %}

with

user_metrics as (
    select * from {{ ref('int_user_metrics_daily') }}
    where metric_date {{ window_days }}
),

milestones as (
    select * from {{ ref('fct_milestones') }}
    where reached_on {{ window_days }}
),

levels as (
    select * from {{ ref('fct_gamification_levels') }}
    where
        entity_type = 'user'
        and is_level_up
        and as_of_date {{ window_days }}
),

personal_bests as (
    select * from {{ ref('fct_personal_bests') }}
    -- the weeks from the one of window_start: their week_count still grows
    where
        week_start >= cast({{ dbt.date_trunc('week', window.start) }} as date)
        and achieved_on <= {{ window.end }}
),

-- one import CTE per use, each read once: PostgreSQL then inlines it and plans the joins
-- from the table's statistics (a CTE read twice is materialized, and joins on it
-- are planned blind: ~20 s instead of 0.1 s for onboarding_stuck)
mastery_levels as (
    select * from {{ ref('fct_gamification_levels') }}
    where
        entity_type = 'user'
        and ladder = 'mastery'
        and as_of_date {{ window_days }}
),

user_stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where
        entity_type = 'user'
        and as_of_date {{ window_days }}
),

expand_stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where
        entity_type = 'user'
        and stage = 'expand'
        and as_of_date {{ window_days }}
),

user_accounts as (
    select * from {{ ref('stg_product__users') }}
),

-- the users' time zones: a weekly report waits until the local Sunday has ended
report_recipients as (
    select * from {{ ref('stg_product__users') }}
),

valuable_account_days as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where
        entity_type = 'account'
        and hours_saved_28d >= {{ rule('expansion_min_team_hours_28d') }}
        and metric_date {{ window_days }}
),

streak_milestones as (
    select * from {{ ref('streak_milestones') }}
),

badges as (
    select * from {{ ref('fct_badges') }}
    where earned_on {{ window_days }}
),

automate_reports_rules as (
    select * from {{ ref('int_recommendation_rules_daily') }}
    where
        recommendation = 'automate_reports'
        -- from the 1st of the month of window_start: the prompt is the month's first day
        and metric_date
        between cast({{ dbt.date_trunc('month', window.start) }} as date) and {{ window.end }}
),

-- the people who run an account (raw users.role, trimmed in staging; the demo data has
-- 'admin', a product export may say 'owner' too)
account_admins as (
    select * from {{ ref('stg_product__users') }}
    where lower(role) in ('admin', 'owner')
),

active_account_months as (
    select * from {{ ref('fct_account_activity_monthly') }}
    where
        active_users > 0
        and month >= cast({{ dbt.date_trunc('month', window.start) }} as date)
),

-- the expansion invites stored before the window: once per user and quarter
invited_quarters as (
    {%- if is_incremental() %}
    select
        user_id,
        period_key
    from {{ this }}
    where trigger_type = 'expansion_invite' and triggered_on < {{ window.start }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as period_key
    where false
    {%- endif %}
),

milestone_reached as (
    select
        user_id,
        'milestone_reached' as trigger_type,
        reached_on as triggered_on,
        metric || ':' || {{ month_label('month') }} || ':'
        || cast(threshold as {{ dbt.type_string() }}) as period_key,
        metric as detail_metric,
        threshold as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from milestones
),

-- a badge earned is a milestone too, with the badge as its headline
badge_earned as (
    select
        user_id,
        'milestone_reached' as trigger_type,
        earned_on as triggered_on,
        'badge:' || badge as period_key,
        metric as detail_metric,
        threshold as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        badge as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from badges
),

inactive_nudge as (
    -- The spine is dense, so days_since_last_active equals the threshold on exactly one day
    -- of each inactivity episode: one nudge per episode, keyed by the last active day.
    select
        user_id,
        'inactive_nudge' as trigger_type,
        metric_date as triggered_on,
        {{ date_label('last_active_date') }} as period_key,
        'days_inactive' as detail_metric,
        days_since_last_active as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from user_metrics
    where
        last_active_date is not null
        and days_since_last_active = {{ rule('inactive_nudge_days') }}
),

-- the days automate_reports applies to the user (stage, prerequisites, not already done:
-- int_recommendation_rules_daily), so the prompt's subject always matches the card it pins
adoption_days as (
    select
        user_id,
        metric_date,
        metric_value as reports_28d,
        row_number() over (
            partition by user_id, {{ dbt.date_trunc('month', 'metric_date') }}
            order by metric_date
        ) as day_in_month
    from automate_reports_rules
    where is_candidate
),

feature_adoption_prompt as (
    select
        user_id,
        'feature_adoption_prompt' as trigger_type,
        metric_date as triggered_on,
        {{ month_label('metric_date') }} as period_key,
        'reports_28d' as detail_metric,
        reports_28d as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        'automate_reports' as pinned_recommendation
    from adoption_days
    where
        day_in_month = 1
        and metric_date >= {{ window.start }}
),

level_up as (
    select
        entity_id as user_id,
        'level_up' as trigger_type,
        as_of_date as triggered_on,
        ladder || ':' || level as period_key,
        metric as detail_metric,
        metric_value as detail_value,
        ladder as detail_ladder,
        level as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from levels
),

personal_best as (
    select
        user_id,
        'personal_best' as trigger_type,
        achieved_on as triggered_on,
        metric || ':' || iso_week as period_key,
        metric as detail_metric,
        week_count as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from personal_bests
),

streak_milestone as (
    select
        user_metrics.user_id,
        'streak_milestone' as trigger_type,
        user_metrics.metric_date as triggered_on,
        cast(user_metrics.current_streak_days as {{ dbt.type_string() }}) || ':'
        || {{ date_label(streak_start) }}
            as period_key,
        'current_streak_days' as detail_metric,
        user_metrics.current_streak_days as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from user_metrics
    inner join streak_milestones
        on user_metrics.current_streak_days = streak_milestones.streak_days
    -- the day the streak reaches the value is an active day; the day after still shows it
    where user_metrics.is_active
),

onboarding_stuck as (
    select
        user_metrics.user_id,
        'onboarding_stuck' as trigger_type,
        user_metrics.metric_date as triggered_on,
        cast(user_metrics.onboarding_steps_total as {{ dbt.type_string() }}) as period_key,
        'onboarding_steps_total' as detail_metric,
        user_metrics.onboarding_steps_total as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from user_metrics
    inner join user_stages
        on
            user_metrics.user_id = user_stages.entity_id
            and user_metrics.metric_date = user_stages.as_of_date
    where
        user_stages.stage = 'implement'
        and user_metrics.onboarding_steps_total < {{ rule('stage_onboarded_steps') }}
        and {{ dbt.datediff('user_metrics.last_onboarding_step_date', 'user_metrics.metric_date', 'day') }}
        = {{ rule('onboarding_stuck_days') }}
),

-- dated the Sunday that ends the reported ISO week, once the run holds every event of that
-- local week: the user's local Sunday has ended before events_through. West of UTC it ends on
-- the UTC Monday, after the end of the Sunday partition, so the report waits for a build that
-- holds that Monday's first hours; the weekly report schedule sends it on Monday at a local
-- hour (docs/operations.md)
weekly_report as (
    select
        user_metrics.user_id,
        'weekly_report' as trigger_type,
        user_metrics.metric_date as triggered_on,
        {{ iso_year_week('user_metrics.metric_date') }} as period_key,
        'last_week_active_days' as detail_metric,
        user_metrics.active_days_7d as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from user_metrics
    inner join report_recipients
        on user_metrics.user_id = report_recipients.user_id
    where
        {{ iso_day_of_week('user_metrics.metric_date') }} = 7
        and user_metrics.active_days_7d > 0
        and {{ convert_from_utc(events_through(), 'report_recipients.timezone') }}
        >= cast({{ dbt.dateadd('day', 1, 'user_metrics.metric_date') }} as {{ dbt.type_timestamp() }})
),

-- the first day of a quarter on which a user in stage expand has reached the mastery ladder
-- (Champion: real time saved of their own) and their team's value is real (at least
-- expansion_min_team_hours_28d hours saved by the account in 28 days): only a user who has
-- proved the value they would invite colleagues to
expansion_days as (
    select
        mastery_levels.entity_id as user_id,
        mastery_levels.as_of_date,
        cast(extract(year from mastery_levels.as_of_date) as {{ dbt.type_string() }}) || '-Q'
        || cast(extract(quarter from mastery_levels.as_of_date) as {{ dbt.type_string() }})
            as quarter_label,
        row_number() over (
            partition by
                mastery_levels.entity_id,
                extract(year from mastery_levels.as_of_date),
                extract(quarter from mastery_levels.as_of_date)
            order by mastery_levels.as_of_date
        ) as day_in_quarter
    from mastery_levels
    inner join expand_stages
        on
            mastery_levels.entity_id = expand_stages.entity_id
            and mastery_levels.as_of_date = expand_stages.as_of_date
    inner join user_accounts
        on mastery_levels.entity_id = user_accounts.user_id
    inner join valuable_account_days
        on
            user_accounts.account_id = valuable_account_days.entity_id
            and mastery_levels.as_of_date = valuable_account_days.metric_date
    where mastery_levels.highest_level_rank_ever >= 1
),

expansion_invite as (
    select
        expansion_days.user_id,
        'expansion_invite' as trigger_type,
        expansion_days.as_of_date as triggered_on,
        expansion_days.quarter_label as period_key,
        cast(null as {{ dbt.type_string() }}) as detail_metric,
        cast(null as {{ dbt.type_int() }}) as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from expansion_days
    left join invited_quarters
        on
            expansion_days.user_id = invited_quarters.user_id
            and expansion_days.quarter_label = invited_quarters.period_key
    where
        expansion_days.day_in_quarter = 1
        and invited_quarters.user_id is null
),

-- dated the admin's last local day of a calendar month, when all its days are built; sent
-- the next morning (the first of the next month) to each admin and owner of an account
-- that had at least one active user that month
monthly_team_report as (
    select
        user_metrics.user_id,
        'monthly_team_report' as trigger_type,
        user_metrics.metric_date as triggered_on,
        {{ month_label('user_metrics.metric_date') }} as period_key,
        'team_active_users' as detail_metric,
        active_account_months.active_users as detail_value,
        cast(null as {{ dbt.type_string() }}) as detail_ladder,
        cast(null as {{ dbt.type_string() }}) as detail_level,
        cast(null as {{ dbt.type_string() }}) as detail_badge,
        cast(null as {{ dbt.type_string() }}) as pinned_recommendation
    from user_metrics
    inner join account_admins
        on user_metrics.user_id = account_admins.user_id
    inner join active_account_months
        on
            account_admins.account_id = active_account_months.account_id
            and cast({{ dbt.date_trunc('month', 'user_metrics.metric_date') }} as date) = active_account_months.month
    where user_metrics.metric_date = {{ dbt.last_day('user_metrics.metric_date', 'month') }}
),

unioned as (
    select * from milestone_reached
    union all
    select * from badge_earned
    union all
    select * from inactive_nudge
    union all
    select * from feature_adoption_prompt
    union all
    select * from level_up
    union all
    select * from personal_best
    union all
    select * from streak_milestone
    union all
    select * from onboarding_stuck
    union all
    select * from weekly_report
    union all
    select * from expansion_invite
    union all
    select * from monthly_team_report
),

final as (
    select
        user_id || ':' || trigger_type || ':' || period_key as send_key,
        user_id,
        trigger_type,
        cast(triggered_on as date) as triggered_on,
        period_key,
        detail_metric,
        cast(detail_value as {{ dbt.type_numeric() }}) as detail_value,
        detail_ladder,
        detail_level,
        detail_badge,
        -- the recommendation the e-mail shows first, because the trigger is about it
        pinned_recommendation
    from unioned
)

select * from final
