{{
    config(
        materialized='incremental',
        unique_key=['send_key'],
        meta={'window_column': 'triggered_on'},
    )
}}
-- One row per e-mail to send (fct_email_triggers with no suppressed_reason): the recipient,
-- the template of its variant and every number and text input the template shows, as of the
-- trigger's day. Templates
-- only format these values: no arithmetic happens after this model.
-- Not BI-facing: it carries the e-mail address, so it lives in schema `email`, not `marts`.
-- Trigger-specific inputs are null for the other triggers: the reported week (week_*) for
-- weekly_report, previous_best for personal_best, onboarding_steps_* for onboarding_stuck,
-- next_ladder_* for a level_up at the top of its ladder, detail_badge for a badge milestone,
-- report_month, team_* and top_contributor_* for monthly_team_report (the account's month,
-- whose recommendations are the account's next steps: its account-scope ones).
-- Comparisons: the percentages stay true; *_is_capped says a template must print "more
-- than max_comparison_ratio× the average" instead (rule max_comparison_pct), and a user
-- percentile is shown only for the stage the e-mail names.
-- Incremental (macros/incremental.sql): a run rebuilds the e-mails from the 1st of the month
-- of window_start, not from window_start. The month comparisons (fct_cohort_benchmarks,
-- fct_team_benchmarks, fct_user_engagement_percentiles) are month to date as of the run, so an
-- e-mail changes with every run until its month ends, as in a full refresh: a month is
-- rebuilt until the look-back leaves it. Every other input is of the trigger's day or earlier.
-- Carried: each user's last e-mail before the rebuilt days, the e-mail before the user's first
-- rebuilt one (new_badges).

{%- if is_incremental() %}
{%- set window = incremental_window('triggered_on') %}
{#- the days the run rebuilds, from the 1st of the month of window_start: the daily facts are
    read from then on #}
{%- set rebuild_start = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- else %}
{%- set rebuild_start = "cast('1900-01-01' as date)" %}
{%- endif %}

with

-- read again for the e-mails before the rebuilt days: PostgreSQL materializes a CTE read twice
earlier_triggers as (
    {{ emails_to_send() }}
),

triggers as (
    {{ emails_to_send(rebuild_start, window.end) if is_incremental() else emails_to_send() }}
),

-- the last e-mail before the rebuilt days of each user who has one in them
earlier_emails as (
    select
        earlier_triggers.user_id,
        max(earlier_triggers.triggered_on) as last_email_on
    from earlier_triggers
    where
        earlier_triggers.triggered_on < {{ rebuild_start }}
        and earlier_triggers.user_id in (select triggers.user_id from triggers)
    group by earlier_triggers.user_id
),

badges as (
    select * from {{ ref('fct_badges') }}
),

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

variants as (
    select * from {{ ref('int_email_variants') }}
),

stage_order as (
    select * from {{ ref('engagement_stages') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

user_metrics as (
    select * from {{ ref('int_user_metrics_daily') }}
    where metric_date >= {{ rebuild_start }}
),

account_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'account' and metric_date >= {{ rebuild_start }}
),

time_saved as (
    select * from {{ ref('fct_time_saved') }}
    where as_of_date >= {{ rebuild_start }}
),

stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where entity_type = 'user' and as_of_date >= {{ rebuild_start }}
),

levels as (
    select * from {{ ref('fct_gamification_levels') }}
    where entity_type = 'user' and as_of_date >= {{ rebuild_start }}
),

-- read again rather than joining `levels` twice: PostgreSQL materializes a CTE read twice
next_ladder_levels as (
    select * from {{ ref('fct_gamification_levels') }}
    where entity_type = 'user' and as_of_date >= {{ rebuild_start }}
),

ladders as (
    select distinct
        ladder,
        stage
    from {{ ref('gamification_levels') }}
),

-- the ladder after each one: the next stage's
next_ladders as (
    select
        ladders.ladder,
        next_ladder.ladder as next_ladder
    from ladders
    inner join stage_order
        on ladders.stage = stage_order.stage
    inner join stage_order as next_stage
        on next_stage.stage_rank = stage_order.stage_rank + 1
    inner join ladders as next_ladder
        on next_stage.stage = next_ladder.stage
),

cohort_benchmarks as (
    select * from {{ ref('fct_cohort_benchmarks') }}
    where metric = 'tasks_completed'
),

team_benchmarks as (
    select * from {{ ref('fct_team_benchmarks') }}
    where metric = 'tasks_completed'
),

user_percentiles as (
    select * from {{ ref('fct_user_engagement_percentiles') }}
),

personal_bests as (
    select * from {{ ref('fct_personal_bests') }}
),

-- The monthly team report reads the recipient's account, its month and every user of the
-- account with their stage and month; each import is its own CTE, read once (see
-- int_email_trigger_candidates on PostgreSQL's planning).
recipients as (
    select * from {{ ref('stg_product__users') }}
),

account_months as (
    select * from {{ ref('fct_account_activity_monthly') }}
),

account_members as (
    select * from {{ ref('stg_product__users') }}
),

member_months as (
    select * from {{ ref('int_user_activity_monthly') }}
),

-- the weekly report's week (week_*) and the recommendations an e-mail shows
week_totals as (
    select * from {{ ref('int_email_week_totals') }}
),

payload_recommendations as (
    select * from {{ ref('int_email_payload_recommendations') }}
),

with_stage as (
    select
        triggers.*,
        stages.stage,
        -- the ladder a report shows: the one that levelled up, else the stage's own ladder
        coalesce(triggers.detail_ladder, ladders.ladder) as ladder
    from triggers
    inner join stages
        on
            triggers.user_id = stages.entity_id
            and triggers.triggered_on = stages.as_of_date
    left join ladders
        on stages.stage = ladders.stage
),

-- the badges earned since the e-mail before (the previous one arbitration kept for the
-- user, or the 28 days before when there is none), up to the trigger's day
previous_emails as (
    select
        triggers.send_key,
        triggers.user_id,
        triggers.triggered_on,
        coalesce(
            lag(triggers.triggered_on) over (
                partition by triggers.user_id
                order by triggers.triggered_on, triggers.send_key
            ),
            earlier_emails.last_email_on
        ) as previous_email_on
    from triggers
    left join earlier_emails
        on triggers.user_id = earlier_emails.user_id
),

new_badges as (
    select
        previous_emails.send_key,
        {{ dbt.listagg('badges.badge', "','", 'order by badges.earned_on, badges.badge') }} as new_badges
    from previous_emails
    inner join badges
        on
            previous_emails.user_id = badges.user_id
            and previous_emails.triggered_on >= badges.earned_on
            and coalesce(
                previous_emails.previous_email_on,
                {{ dbt.dateadd('day', -28, 'previous_emails.triggered_on') }}
            ) < badges.earned_on
    group by previous_emails.send_key
),

-- monthly_team_report is dated the last day of the calendar month it reports
report_months as (
    select
        with_stage.send_key,
        with_stage.triggered_on,
        recipients.account_id,
        cast({{ dbt.date_trunc('month', 'with_stage.triggered_on') }} as date) as report_month
    from with_stage
    inner join recipients
        on with_stage.user_id = recipients.user_id
    where with_stage.trigger_type = 'monthly_team_report'
),

-- every user of the report's account: their stage on the report's day, their month
team_members as (
    select
        report_months.send_key,
        account_members.user_id,
        account_members.first_name,
        stages.stage,
        coalesce(member_months.tasks_completed, 0) as tasks_completed,
        coalesce(member_months.minutes_saved, 0) as minutes_saved
    from report_months
    inner join account_members
        on report_months.account_id = account_members.account_id
    left join stages
        on
            account_members.user_id = stages.entity_id
            and report_months.triggered_on = stages.as_of_date
    left join member_months
        on
            account_members.user_id = member_months.user_id
            and report_months.report_month = member_months.month
),

team_stage_mix as (
    select
        send_key,
        cast(count(case when stage = 'implement' then 1 end) as integer) as users_implement,
        cast(count(case when stage = 'reinforce' then 1 end) as integer) as users_reinforce,
        cast(count(case when stage = 'optimize' then 1 end) as integer) as users_optimize,
        cast(count(case when stage = 'expand' then 1 end) as integer) as users_expand
    from team_members
    group by send_key
),

-- the account's top contributors of the month: by time saved, then tasks; named by their
-- first name, so only users who have one, and only users who saved 3 minutes or did a task
ranked_contributors as (
    select
        send_key,
        first_name,
        minutes_saved,
        tasks_completed,
        row_number() over (
            partition by send_key
            order by minutes_saved desc, tasks_completed desc, first_name asc, user_id asc
        ) as contributor_rank
    from team_members
    where
        first_name is not null
        and (minutes_saved >= 3 or tasks_completed > 0)
),

top_contributors as (
    select
        send_key,
        max(case when contributor_rank = 1 then first_name end) as top_contributor_1_name,
        max(case when contributor_rank = 1 and minutes_saved >= 3 then minutes_saved / 60.0 end)
            as top_contributor_1_hours_saved,
        max(case when contributor_rank = 1 and tasks_completed > 0 then tasks_completed end)
            as top_contributor_1_tasks,
        max(case when contributor_rank = 2 then first_name end) as top_contributor_2_name,
        max(case when contributor_rank = 2 and minutes_saved >= 3 then minutes_saved / 60.0 end)
            as top_contributor_2_hours_saved,
        max(case when contributor_rank = 2 and tasks_completed > 0 then tasks_completed end)
            as top_contributor_2_tasks,
        max(case when contributor_rank = 3 then first_name end) as top_contributor_3_name,
        max(case when contributor_rank = 3 and minutes_saved >= 3 then minutes_saved / 60.0 end)
            as top_contributor_3_hours_saved,
        max(case when contributor_rank = 3 and tasks_completed > 0 then tasks_completed end)
            as top_contributor_3_tasks
    from ranked_contributors
    where contributor_rank <= 3
    group by send_key
),

final as (
    select
        with_stage.send_key,
        with_stage.user_id,
        users.account_id,
        users.email,
        users.first_name,
        users.language as locale,
        users.timezone,
        with_stage.trigger_type,
        -- the variant of the e-mail (fct_email_triggers) and the template it renders: its
        -- own (seed email_variants) or the trigger type's
        with_stage.variant_id,
        coalesce(variants.template, with_stage.trigger_type) as template,
        with_stage.triggered_on,
        with_stage.priority,
        -- the e-mail's primary call to action (seed trigger_priorities)
        trigger_priorities.cta_id,
        trigger_priorities.cta_path,
        with_stage.detail_metric,
        with_stage.detail_value,
        with_stage.stage,
        with_stage.ladder,
        levels.level,
        levels.next_level,
        -- numbers that never embarrass: no 0% bar (null: the e-mail shows the next step
        -- alone), never 100% before the level is reached
        case
            when levels.next_level is null then levels.progress_pct
            when floor(levels.progress_pct) >= 1 then least(floor(levels.progress_pct), 99)
        end as progress_pct,
        -- never "0 more": counts rounded up to whole ones, hours to a tenth (under an hour the
        -- e-mail says minutes); Spark's ceil() is an integer
        cast(
            case
                when levels.next_requirement = 'hours saved in 28 days'
                    then ceil(levels.remaining_to_next * 10) / 10.0
                else ceil(levels.remaining_to_next)
            end as {{ type_double() }}
        ) as remaining_to_next,
        levels.next_requirement,
        user_metrics.current_streak_days,
        user_metrics.longest_streak_days,
        user_metrics.active_days_7d,
        user_metrics.active_days_28d,
        -- counts that are zero and times under 3 minutes are null: the e-mail shows no zero
        -- tile
        nullif(user_metrics.tasks_mtd, 0) as tasks_mtd,
        nullif(user_metrics.workflows_mtd, 0) as workflows_mtd,
        nullif(user_metrics.reports_mtd, 0) as reports_mtd,
        case when time_saved.hours_saved_7d >= 0.05 then time_saved.hours_saved_7d end as hours_saved_7d,
        case when time_saved.hours_saved_28d >= 0.05 then time_saved.hours_saved_28d end as hours_saved_28d,
        case when time_saved.hours_saved_qtd >= 0.05 then time_saved.hours_saved_qtd end as hours_saved_qtd,
        time_saved.work_weeks_saved_qtd,
        accounts.employee_band,
        nullif(cohort_benchmarks.value, 0) as account_tasks_this_month,
        cohort_benchmarks.cohort_avg as cohort_avg_tasks,
        cohort_benchmarks.pct_vs_cohort_avg as account_pct_vs_cohort_avg,
        cohort_benchmarks.percentile_rank as account_percentile_rank,
        team_benchmarks.pct_vs_team_avg as user_pct_vs_team_avg,
        case
            when cohort_benchmarks.is_published then cohort_benchmarks.cohort_scope
        end as cohort_scope,
        cohort_benchmarks.is_top_percent as account_is_top_percent,
        cohort_benchmarks.pct_vs_cohort_avg > {{ rule('max_comparison_pct') }} as account_vs_cohort_is_capped,
        team_benchmarks.pct_vs_team_avg > {{ rule('max_comparison_pct') }} as user_vs_team_is_capped,
        cast(1 + {{ rule('max_comparison_pct') }} / 100.0 as {{ type_double() }}) as max_comparison_ratio,
        user_percentiles.percentile_rank as user_stage_percentile_rank,
        user_percentiles.is_top_percent as user_is_top_percent,
        cast({{ rule('top_percent') }} as integer) as top_percent,
        payload_recommendations.recommendation_1,
        payload_recommendations.recommendation_1_hours_per_week,
        payload_recommendations.recommendation_1_cta_id,
        payload_recommendations.recommendation_1_app_path,
        payload_recommendations.recommendation_2,
        payload_recommendations.recommendation_2_hours_per_week,
        payload_recommendations.recommendation_2_cta_id,
        payload_recommendations.recommendation_2_app_path,
        week_totals.week_start,
        week_totals.week_end,
        week_totals.week_active_days,
        nullif(week_totals.week_tasks, 0) as week_tasks,
        nullif(week_totals.week_workflows, 0) as week_workflows,
        nullif(week_totals.week_reports, 0) as week_reports,
        case when week_totals.week_hours_saved >= 0.05 then week_totals.week_hours_saved end as week_hours_saved,
        personal_bests.previous_best,
        case
            when with_stage.trigger_type = 'onboarding_stuck'
                then user_metrics.onboarding_steps_total
        end as onboarding_steps_done,
        case
            when with_stage.trigger_type = 'onboarding_stuck'
                then cast({{ rule('stage_onboarded_steps') }} as integer)
        end as onboarding_steps_required,
        with_stage.detail_badge,
        new_badges.new_badges,
        -- expansion_invite leads with the team's value
        case
            when with_stage.trigger_type = 'expansion_invite' then account_metrics.hours_saved_28d
        end as team_hours_saved_28d,
        -- at the top of a ladder, the way on: the next stage's ladder and the user's next
        -- level there (null past the last ladder, or when it is topped too)
        case when levels.level is not null and levels.next_level is null then next_ladders.next_ladder end
            as next_ladder,
        case
            when levels.level is not null and levels.next_level is null then next_ladder_levels.next_level
        end as next_ladder_next_level,
        -- monthly_team_report only (null otherwise): the account's calendar month, with the
        -- same guard rails (no zero tile, nothing under 3 minutes)
        report_months.report_month,
        cast(
            case when account_months.hours_saved >= 0.05 then account_months.hours_saved end
            as {{ type_double() }}
        ) as team_hours_saved_month,
        cast(account_months.active_users as integer) as team_active_users,
        -- never "12 of 10 seats": unknown when the account has fewer seats than active users
        cast(
            case when accounts.seats >= account_months.active_users then accounts.seats end as integer
        ) as team_seats,
        nullif(team_stage_mix.users_implement, 0) as team_users_implement,
        nullif(team_stage_mix.users_reinforce, 0) as team_users_reinforce,
        nullif(team_stage_mix.users_optimize, 0) as team_users_optimize,
        nullif(team_stage_mix.users_expand, 0) as team_users_expand,
        top_contributors.top_contributor_1_name,
        cast(top_contributors.top_contributor_1_hours_saved as {{ type_double() }}) as top_contributor_1_hours_saved,
        cast(top_contributors.top_contributor_1_tasks as integer) as top_contributor_1_tasks,
        top_contributors.top_contributor_2_name,
        cast(top_contributors.top_contributor_2_hours_saved as {{ type_double() }}) as top_contributor_2_hours_saved,
        cast(top_contributors.top_contributor_2_tasks as integer) as top_contributor_2_tasks,
        top_contributors.top_contributor_3_name,
        cast(top_contributors.top_contributor_3_hours_saved as {{ type_double() }}) as top_contributor_3_hours_saved,
        cast(top_contributors.top_contributor_3_tasks as integer) as top_contributor_3_tasks
    from with_stage
    inner join users
        on with_stage.user_id = users.user_id
    inner join trigger_priorities
        on with_stage.trigger_type = trigger_priorities.trigger_type
    -- the variant's template: fct_email_triggers drew the variant from int_email_variants
    left join variants
        on
            with_stage.trigger_type = variants.trigger_type
            and with_stage.variant_id = variants.variant_id
    inner join accounts
        on users.account_id = accounts.account_id
    inner join user_metrics
        on
            with_stage.user_id = user_metrics.user_id
            and with_stage.triggered_on = user_metrics.metric_date
    left join time_saved
        on
            with_stage.user_id = time_saved.user_id
            and with_stage.triggered_on = time_saved.as_of_date
    left join levels
        on
            with_stage.user_id = levels.entity_id
            and with_stage.triggered_on = levels.as_of_date
            and with_stage.ladder = levels.ladder
    left join cohort_benchmarks
        on
            users.account_id = cohort_benchmarks.account_id
            and {{ dbt.date_trunc('month', 'with_stage.triggered_on') }} = cohort_benchmarks.month
    left join team_benchmarks
        on
            with_stage.user_id = team_benchmarks.user_id
            and {{ dbt.date_trunc('month', 'with_stage.triggered_on') }} = team_benchmarks.month
    left join user_percentiles
        on
            with_stage.user_id = user_percentiles.user_id
            and {{ dbt.date_trunc('month', 'with_stage.triggered_on') }} = user_percentiles.month
            and with_stage.stage = user_percentiles.stage
    left join payload_recommendations
        on with_stage.send_key = payload_recommendations.send_key
    left join week_totals
        on with_stage.send_key = week_totals.send_key
    left join new_badges
        on with_stage.send_key = new_badges.send_key
    left join account_metrics
        on
            users.account_id = account_metrics.entity_id
            and with_stage.triggered_on = account_metrics.metric_date
    left join next_ladders
        on with_stage.ladder = next_ladders.ladder
    left join next_ladder_levels
        on
            with_stage.user_id = next_ladder_levels.entity_id
            and with_stage.triggered_on = next_ladder_levels.as_of_date
            and next_ladders.next_ladder = next_ladder_levels.ladder
    left join report_months
        on with_stage.send_key = report_months.send_key
    left join account_months
        on
            report_months.account_id = account_months.account_id
            and report_months.report_month = account_months.month
    left join team_stage_mix
        on with_stage.send_key = team_stage_mix.send_key
    left join top_contributors
        on with_stage.send_key = top_contributors.send_key
    left join personal_bests
        on
            with_stage.trigger_type = 'personal_best'
            and with_stage.user_id = personal_bests.user_id
            and with_stage.triggered_on = personal_bests.achieved_on
            and with_stage.detail_metric = personal_bests.metric
)

select * from final
