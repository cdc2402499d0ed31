{{ config(materialized='table') }}
-- The experiment's units: one row per e-mail trigger, its arm and its outcomes. Intention to
-- treat: every trigger outside the holdout is `treated`, whether its e-mail went or lost to
-- the caps, an opt-out or the dormancy rule, because the holdout's triggers were never
-- arbitrated either (the holdout rule comes first, fct_email_triggers): both arms are every
-- trigger that fired.
-- A table, not a view: fct_email_effect and fct_email_lift both read it. Rebuilt whole every
-- run: it grows with triggers, not days, and an outcome changes for 28 days after its day.

{#- The windows of the active days (days after the trigger day). -#}
{%- set windows = [7, 28] %}
{%- set day_28 = dbt.dateadd('day', 28, 'units.triggered_on') %}

with

triggers as (
    select * from {{ ref('fct_email_triggers') }}
),

users as (
    select * from {{ ref('dim_users') }}
),

activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where entity_type = 'user'
),

stage_ranks as (
    select * from {{ ref('engagement_stages') }}
),

clicks as (
    select * from {{ ref('fct_email_clicks') }}
    where is_primary_cta
),

units as (
    select
        triggers.send_key,
        triggers.user_id,
        users.account_id,
        -- the holdout's unit (var holdout_unit): the test of the lift counts these
        users.{{ holdout_unit_column() }} as unit_id,
        triggers.trigger_type,
        -- the language the e-mail is (or would have been) written in, as in rpt_email_payloads
        users.language as locale,
        triggers.triggered_on,
        case when triggers.is_holdout then 'holdout' else 'treated' end as arm,
        triggers.variant_id
    from triggers
    inner join users
        on triggers.user_id = users.user_id
),

-- Active days on days D+1 .. D+N after the trigger day D (the day itself is left out: the
-- e-mail may arrive after that day's activity), and on the fourth week, D+22 .. D+28.
window_activity as (
    select
        units.send_key,
        {%- for days in windows %}
        count(
            case
                when
                    activity.is_active
                    and activity.activity_date <= {{ dbt.dateadd('day', days, 'units.triggered_on') }}
                    then 1
            end
        ) as active_days_{{ days }}d,
        {%- endfor %}
        count(
            case
                when
                    activity.is_active
                    and activity.activity_date > {{ dbt.dateadd('day', 21, 'units.triggered_on') }}
                    then 1
            end
        ) as active_days_week_4
    from units
    inner join activity
        on
            units.user_id = activity.user_id
            and units.triggered_on < activity.activity_date
            and {{ day_28 }} >= activity.activity_date
    group by units.send_key
),

-- The user's stage on the trigger day, then whether a later stage change in the 28 days
-- reached a higher one (stage changes are few: the join reads them, not every day).
stage_on_trigger_day as (
    select
        units.send_key,
        stage_ranks.stage_rank
    from units
    inner join stages
        on
            units.user_id = stages.entity_id
            and units.triggered_on = stages.as_of_date
    inner join stage_ranks
        on stages.stage = stage_ranks.stage
),

stage_progress as (
    select distinct units.send_key
    from units
    inner join stage_on_trigger_day
        on units.send_key = stage_on_trigger_day.send_key
    inner join stages
        on
            units.user_id = stages.entity_id
            and stages.is_stage_change
            and units.triggered_on < stages.as_of_date
            and {{ day_28 }} >= stages.as_of_date
    inner join stage_ranks
        on stages.stage = stage_ranks.stage
    where stage_ranks.stage_rank > stage_on_trigger_day.stage_rank
),

-- Seats added and invites sent by the account's users, on the days they happened.
account_growth_days as (
    select
        users.account_id,
        activity.activity_date,
        sum(activity.seats_added + activity.invites_sent) as seats_and_invites
    from activity
    inner join users
        on activity.user_id = users.user_id
    where activity.seats_added + activity.invites_sent > 0
    group by users.account_id, activity.activity_date
),

account_growth as (
    select
        units.send_key,
        sum(account_growth_days.seats_and_invites) as seats_and_invites
    from units
    inner join account_growth_days
        on
            units.account_id = account_growth_days.account_id
            and units.triggered_on < account_growth_days.activity_date
            and {{ day_28 }} >= account_growth_days.activity_date
    group by units.send_key
),

-- An outcome counts only when its window is complete: D + N <= as_of_date (the last day
-- built); the click on the e-mail's call to action, within 7 days of the trigger day.
final as (
    select
        units.send_key,
        units.user_id,
        units.account_id,
        units.unit_id,
        units.trigger_type,
        units.locale,
        units.triggered_on,
        cast({{ dbt.date_trunc('month', 'units.triggered_on') }} as date) as period,
        units.arm,
        units.variant_id,
        {%- for days in windows %}
        case
            when {{ dbt.dateadd('day', days, 'units.triggered_on') }} <= {{ as_of_date() }}
                then coalesce(window_activity.active_days_{{ days }}d, 0)
        end as active_days_{{ days }}d,
        {%- endfor %}
        case
            when {{ day_28 }} <= {{ as_of_date() }}
                then case when window_activity.active_days_week_4 > 0 then 1 else 0 end
        end as retained_28d,
        case
            when {{ day_28 }} <= {{ as_of_date() }}
                then case when stage_progress.send_key is not null then 1 else 0 end
        end as stage_progressed_28d,
        case
            when {{ day_28 }} <= {{ as_of_date() }}
                then coalesce(account_growth.seats_and_invites, 0)
        end as account_seats_and_invites_28d,
        case
            when {{ dbt.dateadd('day', 7, 'units.triggered_on') }} <= {{ as_of_date() }}
                then
                    case
                        when
                            cast(clicks.first_clicked_at as date)
                            <= {{ dbt.dateadd('day', 7, 'units.triggered_on') }}
                            then 1
                        else 0
                    end
        end as cta_clicked_7d
    from units
    left join window_activity
        on units.send_key = window_activity.send_key
    left join stage_progress
        on units.send_key = stage_progress.send_key
    left join account_growth
        on units.send_key = account_growth.send_key
    left join clicks
        on units.send_key = clicks.send_key
)

select * from final
