{{
    config(
        materialized='incremental',
        unique_key=['send_key'],
        meta={'window_column': 'week_end'},
    )
}}
-- The week a weekly report e-mail reports and the recipient's totals in it: one row per
-- weekly_report e-mail to send (fct_email_triggers with no suppressed_reason). The report is
-- dated the Sunday that ends the ISO week it reports.
-- Incremental (macros/incremental.sql) on week_end (= triggered_on): a report reads its own
-- week, so a run computes the reports of its window, carrying nothing.

{%- if is_incremental() %}
{%- set window = incremental_window('week_end') %}
{%- endif %}

with

reports_to_build as (
    {{ emails_to_send(window.start, window.end, 'weekly_report') if is_incremental()
        else emails_to_send(trigger_type='weekly_report') }}
),

activity_daily as (
    select * from {{ ref('fct_user_activity_daily') }}
    {%- if is_incremental() %}
    -- the weeks of the window's reports
    where activity_date >= cast({{ dbt.dateadd('day', -6, window.start) }} as date)
    {%- endif %}
),


report_weeks as (
    select
        send_key,
        user_id,
        cast({{ dbt.dateadd('day', -6, 'triggered_on') }} as date) as week_start,
        triggered_on as week_end
    from reports_to_build
),

final as (
    select
        report_weeks.send_key,
        report_weeks.week_start,
        report_weeks.week_end,
        cast(count(case when activity_daily.is_active then 1 end) as integer) as week_active_days,
        cast(coalesce(sum(activity_daily.tasks_completed), 0) as integer) as week_tasks,
        cast(coalesce(sum(activity_daily.workflows_completed), 0) as integer) as week_workflows,
        cast(coalesce(sum(activity_daily.reports_generated), 0) as integer) as week_reports,
        cast(coalesce(sum(activity_daily.minutes_saved), 0) / 60.0 as {{ type_double() }})
            as week_hours_saved
    from report_weeks
    left join activity_daily
        on
            report_weeks.user_id = activity_daily.user_id
            and activity_daily.activity_date between report_weeks.week_start and report_weeks.week_end
    group by
        report_weeks.send_key,
        report_weeks.week_start,
        report_weeks.week_end
)

select * from final
