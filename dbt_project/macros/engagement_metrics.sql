{#-
    The rolling, cumulative and streak metrics shared by int_user_metrics_daily and
    int_account_metrics_daily (docs/engagement-model.md, "Metrics"). Both models first build
    a CTE named `daily`: one row per entity and day of a DENSE spine (no missing days, so
    "rows between 27 preceding and current row" is exactly the last 28 days, and the row
    before is D-1), with the columns:
        <entity_id>, metric_date, is_active,
        every column of engagement_daily_count_columns(),
        new_onboarding_steps, new_integrations, new_crm_connections
        (how many distinct steps / integrations / CRM integrations were done for the
        first time that day).
    Then:  {{ engagement_metric_ctes('user_id') }}  defines the CTEs `metric_runs`,
    `metric_run_lengths` and `metrics`, and  {{ engagement_metric_columns() }}  is the typed
    select list of the metric columns, to select from `metrics`.
-#}

{#- The daily counts the metrics are computed from (columns of fct_user_activity_daily). -#}
{% macro engagement_daily_count_columns() -%}
    {{ return([
        'onboarding_steps_completed',
        'tasks_completed',
        'reports_generated',
        'workflows_completed',
        'bulk_workflows_completed',
        'automated_workflows_completed',
        'automation_runs',
        'bulk_actions_used',
        'schedules_created',
        'optimized_actions',
        'minutes_saved',
        'invites_sent',
        'seats_added',
    ]) }}
{%- endmacro %}

{% macro engagement_metric_ctes(entity_id) -%}
metric_runs as (
    -- Streaks, gaps and islands: every inactive day starts a new run, so the active days
    -- of one run share the number of inactive days seen so far.
    select
        daily.*,
        cast({{ dbt.date_trunc('month', 'daily.metric_date') }} as date) as metric_month,
        sum(case when daily.is_active then 0 else 1 end) over (
            partition by daily.{{ entity_id }}
            order by daily.metric_date
            rows between unbounded preceding and current row
        ) as inactive_days_so_far
    from daily
),

metric_run_lengths as (
    -- active_run_days: consecutive active days ending on metric_date (0 when inactive)
    select
        metric_runs.*,
        sum(case when metric_runs.is_active then 1 else 0 end) over (
            partition by metric_runs.{{ entity_id }}, metric_runs.inactive_days_so_far
            order by metric_runs.metric_date
            rows between unbounded preceding and current row
        ) as active_run_days
    from metric_runs
),

metrics as (
    select
        metric_run_lengths.*,
        -- alive until one whole day passes without activity: on an inactive day, the run
        -- that ended yesterday (the previous row of the dense spine) still counts
        case
            when metric_run_lengths.is_active then metric_run_lengths.active_run_days
            else coalesce(lag(metric_run_lengths.active_run_days) over entity_days, 0)
        end as current_streak_days,
        max(metric_run_lengths.active_run_days) over entity_history as longest_streak_days,
        max(case when metric_run_lengths.is_active then metric_run_lengths.metric_date end)
            over entity_history as last_active_date,
        sum(case when metric_run_lengths.is_active then 1 else 0 end) over last_7_days as active_days_7d,
        sum(case when metric_run_lengths.is_active then 1 else 0 end) over last_28_days as active_days_28d,
        sum(metric_run_lengths.new_onboarding_steps) over entity_history as onboarding_steps_total,
        max(case when metric_run_lengths.onboarding_steps_completed > 0 then metric_run_lengths.metric_date end)
            over entity_history as last_onboarding_step_date,
        sum(metric_run_lengths.new_integrations) over entity_history as integrations_total,
        sum(metric_run_lengths.new_crm_connections) over entity_history as crm_connections_total,
        sum(metric_run_lengths.tasks_completed) over last_28_days as tasks_28d,
        sum(metric_run_lengths.reports_generated) over last_28_days as reports_28d,
        sum(metric_run_lengths.workflows_completed) over last_28_days as workflows_28d,
        sum(metric_run_lengths.bulk_workflows_completed) over last_28_days as bulk_workflows_28d,
        sum(metric_run_lengths.automated_workflows_completed) over last_28_days as automated_workflows_28d,
        sum(metric_run_lengths.automation_runs) over last_28_days as automation_runs_28d,
        sum(metric_run_lengths.bulk_actions_used) over last_28_days as bulk_actions_28d,
        sum(metric_run_lengths.schedules_created) over entity_history as schedules_total,
        sum(metric_run_lengths.optimized_actions) over last_28_days as optimized_actions_28d,
        sum(metric_run_lengths.minutes_saved) over last_28_days as minutes_saved_28d,
        sum(metric_run_lengths.minutes_saved) over entity_history as minutes_saved_total,
        sum(metric_run_lengths.invites_sent) over entity_history as invites_total,
        sum(metric_run_lengths.seats_added) over entity_history as seats_added_total,
        sum(metric_run_lengths.tasks_completed) over month_to_date as tasks_mtd,
        sum(metric_run_lengths.workflows_completed) over month_to_date as workflows_mtd,
        sum(metric_run_lengths.reports_generated) over month_to_date as reports_mtd
    from metric_run_lengths
    window
        entity_days as (
            partition by metric_run_lengths.{{ entity_id }}
            order by metric_run_lengths.metric_date
        ),
        entity_history as (
            partition by metric_run_lengths.{{ entity_id }}
            order by metric_run_lengths.metric_date
            rows between unbounded preceding and current row
        ),
        last_7_days as (
            partition by metric_run_lengths.{{ entity_id }}
            order by metric_run_lengths.metric_date
            rows between 6 preceding and current row
        ),
        last_28_days as (
            partition by metric_run_lengths.{{ entity_id }}
            order by metric_run_lengths.metric_date
            rows between 27 preceding and current row
        ),
        month_to_date as (
            partition by metric_run_lengths.{{ entity_id }}, metric_run_lengths.metric_month
            order by metric_run_lengths.metric_date
            rows between unbounded preceding and current row
        )
)
{%- endmacro %}

{#- The metric columns, typed, in the documented order (select from `metrics`). -#}
{% macro engagement_metric_columns() -%}
    {%- set int_type = dbt.type_int() -%}
    cast(metrics.metric_date as date) as metric_date,
    metrics.is_active,
    cast(metrics.active_days_7d as {{ int_type }}) as active_days_7d,
    cast(metrics.active_days_28d as {{ int_type }}) as active_days_28d,
    cast(metrics.current_streak_days as {{ int_type }}) as current_streak_days,
    cast(metrics.longest_streak_days as {{ int_type }}) as longest_streak_days,
    cast(metrics.last_active_date as date) as last_active_date,
    cast({{ dbt.datediff('metrics.last_active_date', 'metrics.metric_date', 'day') }} as {{ int_type }}) as days_since_last_active,
    cast(metrics.onboarding_steps_total as {{ int_type }}) as onboarding_steps_total,
    cast(metrics.last_onboarding_step_date as date) as last_onboarding_step_date,
    cast(metrics.integrations_total as {{ int_type }}) as integrations_total,
    metrics.crm_connections_total > 0 as has_crm,
    cast(metrics.tasks_28d as {{ int_type }}) as tasks_28d,
    cast(metrics.reports_28d as {{ int_type }}) as reports_28d,
    cast(metrics.workflows_28d as {{ int_type }}) as workflows_28d,
    cast(metrics.bulk_workflows_28d as {{ int_type }}) as bulk_workflows_28d,
    cast(metrics.automated_workflows_28d as {{ int_type }}) as automated_workflows_28d,
    cast(metrics.automation_runs_28d as {{ int_type }}) as automation_runs_28d,
    cast(metrics.bulk_actions_28d as {{ int_type }}) as bulk_actions_28d,
    cast(metrics.schedules_total as {{ int_type }}) as schedules_total,
    cast(metrics.optimized_actions_28d as {{ int_type }}) as optimized_actions_28d,
    cast(metrics.minutes_saved_28d as {{ type_double() }}) as minutes_saved_28d,
    cast(metrics.minutes_saved_28d / 60.0 as {{ type_double() }}) as hours_saved_28d,
    cast(metrics.minutes_saved_total as {{ type_double() }}) as minutes_saved_total,
    cast(metrics.invites_total as {{ int_type }}) as invites_total,
    cast(metrics.seats_added_total as {{ int_type }}) as seats_added_total,
    cast(metrics.tasks_mtd as {{ int_type }}) as tasks_mtd,
    cast(metrics.workflows_mtd as {{ int_type }}) as workflows_mtd,
    cast(metrics.reports_mtd as {{ int_type }}) as reports_mtd
{%- endmacro %}
