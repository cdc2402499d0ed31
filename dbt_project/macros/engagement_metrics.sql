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

    Anchored (an incremental run, given the run's `window` from incremental_window() in
    macros/incremental.sql): the model also defines  {{ engagement_metric_anchors(entity_id, window) }}
    (the state of the day before the window), and `daily` holds the window's days, the 27 days before it (the
    rolling windows read them) and every day of the entities without an anchor. The rolling sums
    are computed over all of these; the other metrics only over the days from window_start on
    (all days of an entity without an anchor), starting from the anchor, and `metrics` holds
    only those days. The full-refresh path (no window) computes the same numbers from
    every day.
-#}

{#- The days before the window an anchored run reads: the longest rolling window (28 days) less the day itself. -#}
{% macro engagement_context_days() -%}
    {{ return(27) }}
{%- endmacro %}

{#- The running totals: (total, the daily count it adds up). -#}
{% macro engagement_running_totals() -%}
    {{ return([
        ('onboarding_steps_total', 'new_onboarding_steps'),
        ('integrations_total', 'new_integrations'),
        ('crm_connections_total', 'new_crm_connections'),
        ('schedules_total', 'schedules_created'),
        ('minutes_saved_total', 'minutes_saved'),
        ('invites_total', 'invites_sent'),
        ('seats_added_total', 'seats_added'),
    ]) }}
{%- endmacro %}

{#- The month-to-date sums: (sum, the daily count). -#}
{% macro engagement_month_to_date_sums() -%}
    {{ return([
        ('tasks_mtd', 'tasks_completed'),
        ('workflows_mtd', 'workflows_completed'),
        ('reports_mtd', 'reports_generated'),
    ]) }}
{%- endmacro %}

{#-
    The CTE `<name>`: per entity, the state an incremental run carries from its stored row of
    the day before the window (has_crm as a count, 0 or 1), plus `extra_columns`, all prefixed
    anchor_.
-#}
{% macro engagement_metric_anchors(entity_id, window, name='anchors', extra_columns=[]) -%}
{{ name }} as (
    select
        this_table.{{ entity_id }},
        cast({{ dbt.date_trunc('month', 'this_table.metric_date') }} as date) as anchor_month,
        -- the run of active days that ends on the anchor day
        case when this_table.is_active then this_table.current_streak_days else 0 end as anchor_run_days,
        this_table.longest_streak_days as anchor_longest_streak_days,
        this_table.last_active_date as anchor_last_active_date,
        this_table.last_onboarding_step_date as anchor_last_onboarding_step_date,
        case when this_table.has_crm then 1 else 0 end as anchor_crm_connections_total,
        {%- for total, _count in engagement_running_totals() if total != 'crm_connections_total' %}
        this_table.{{ total }} as anchor_{{ total }},
        {%- endfor %}
        {%- for column in extra_columns %}
        this_table.{{ column }} as anchor_{{ column }},
        {%- endfor %}
        {%- for mtd, _count in engagement_month_to_date_sums() %}
        this_table.{{ mtd }} as anchor_{{ mtd }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as this_table
    where this_table.metric_date = {{ window.anchor_day }}
)
{%- endmacro %}

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

{% macro engagement_metric_ctes(entity_id, window=none) -%}
{%- set exact = type_exact_sum() -%}
{%- set anchored = window is not none -%}
{%- set days = 'metric_run_lengths' -%}
{% if anchored -%}
anchored_daily as (
    -- is_built: the days the run emits; the days before (context) feed only the rolling sums
    select
        daily.*,
        (anchors.{{ entity_id }} is null or daily.metric_date >= {{ window.start }}) as is_built
    from daily
    left join anchors
        on daily.{{ entity_id }} = anchors.{{ entity_id }}
),

{% endif -%}
metric_runs as (
    -- Streaks, gaps and islands: every inactive day starts a new run, so the active days
    -- of one run share the number of inactive days seen so far (counted from window_start
    -- when anchored). The rolling sums share this pass over the days.
    select
        daily.*,
        cast({{ dbt.date_trunc('month', 'daily.metric_date') }} as date) as metric_month,
        sum(case when daily.is_active{{ ' or not daily.is_built' if anchored }} then 0 else 1 end)
            over entity_history as inactive_days_so_far,
        sum(case when daily.is_active then 1 else 0 end) over last_7_days as active_days_7d,
        sum(case when daily.is_active then 1 else 0 end) over last_28_days as active_days_28d,
        sum(daily.tasks_completed) over last_28_days as tasks_28d,
        sum(daily.reports_generated) over last_28_days as reports_28d,
        sum(daily.workflows_completed) over last_28_days as workflows_28d,
        sum(daily.bulk_workflows_completed) over last_28_days as bulk_workflows_28d,
        sum(daily.automated_workflows_completed) over last_28_days as automated_workflows_28d,
        sum(daily.automation_runs) over last_28_days as automation_runs_28d,
        sum(daily.bulk_actions_used) over last_28_days as bulk_actions_28d,
        sum(daily.optimized_actions) over last_28_days as optimized_actions_28d,
        sum(cast(daily.minutes_saved as {{ exact }})) over last_28_days as minutes_saved_28d
    from {{ 'anchored_daily' if anchored else 'daily' }} as daily
    window
        entity_history as (
            partition by daily.{{ entity_id }}
            order by daily.metric_date
            rows between unbounded preceding and current row
        ),
        last_7_days as (
            partition by daily.{{ entity_id }}
            order by daily.metric_date
            rows between 6 preceding and current row
        ),
        last_28_days as (
            partition by daily.{{ entity_id }}
            order by daily.metric_date
            rows between 27 preceding and current row
        )
),

metric_run_lengths as (
    -- active_run_days: consecutive active days ending on metric_date (0 when inactive);
    -- when anchored, the window's days only, the first run continuing the anchor's
    select
        metric_runs.*,
        {%- if anchored %}
        coalesce(anchors.anchor_run_days, 0) as anchor_run_days,
        anchors.anchor_month,
        anchors.anchor_longest_streak_days,
        anchors.anchor_last_active_date,
        anchors.anchor_last_onboarding_step_date,
        {%- for total, _count in engagement_running_totals() %}
        anchors.anchor_{{ total }},
        {%- endfor %}
        {%- for mtd, _count in engagement_month_to_date_sums() %}
        anchors.anchor_{{ mtd }},
        {%- endfor %}
        sum(case when metric_runs.is_active then 1 else 0 end) over runs
        + case when metric_runs.inactive_days_so_far = 0 then coalesce(anchors.anchor_run_days, 0) else 0 end
            as active_run_days
        {%- else %}
        sum(case when metric_runs.is_active then 1 else 0 end) over runs as active_run_days
        {%- endif %}
    from metric_runs
    {%- if anchored %}
    left join anchors
        on metric_runs.{{ entity_id }} = anchors.{{ entity_id }}
    where metric_runs.is_built
    {%- endif %}
    window runs as (
        partition by metric_runs.{{ entity_id }}, metric_runs.inactive_days_so_far
        order by metric_runs.metric_date
        rows between unbounded preceding and current row
    )
),

metrics as (
    -- the running metrics (from the anchor's when anchored)
    select
        {{ days }}.*,
        -- alive until one whole day passes without activity: on an inactive day, the run
        -- that ended yesterday (the previous row of the dense spine) still counts
        case
            when {{ days }}.is_active then {{ days }}.active_run_days
            else coalesce(lag({{ days }}.active_run_days) over entity_days, {{ days ~ '.anchor_run_days' if anchored else '0' }})
        end as current_streak_days,
        {%- if anchored %}
        greatest(
            coalesce({{ days }}.anchor_longest_streak_days, 0),
            max({{ days }}.active_run_days) over entity_history
        ) as longest_streak_days,
        coalesce(
            max(case when {{ days }}.is_active then {{ days }}.metric_date end) over entity_history,
            {{ days }}.anchor_last_active_date
        ) as last_active_date,
        coalesce(
            max(case when {{ days }}.onboarding_steps_completed > 0 then {{ days }}.metric_date end)
                over entity_history,
            {{ days }}.anchor_last_onboarding_step_date
        ) as last_onboarding_step_date,
        {%- else %}
        max({{ days }}.active_run_days) over entity_history as longest_streak_days,
        max(case when {{ days }}.is_active then {{ days }}.metric_date end)
            over entity_history as last_active_date,
        max(case when {{ days }}.onboarding_steps_completed > 0 then {{ days }}.metric_date end)
            over entity_history as last_onboarding_step_date,
        {%- endif %}
        {%- for total, count in engagement_running_totals() %}
        {%- set value = days ~ '.' ~ count %}
        {%- set anchor = days ~ '.anchor_' ~ total %}
        {%- if count == 'minutes_saved' %}
        {%- set value = 'cast(' ~ value ~ ' as ' ~ exact ~ ')' %}
        {%- set anchor = 'cast(' ~ anchor ~ ' as ' ~ exact ~ ')' %}
        {%- endif %}
        {{ 'coalesce(' ~ anchor ~ ', 0) + ' if anchored }}sum({{ value }}) over entity_history as {{ total }},
        {%- endfor %}
        {%- for mtd, count in engagement_month_to_date_sums() %}
        {%- if anchored %}
        case when {{ days }}.anchor_month = {{ days }}.metric_month then {{ days }}.anchor_{{ mtd }} else 0 end
        + sum({{ days }}.{{ count }}) over month_to_date as {{ mtd }}
        {%- else %}
        sum({{ days }}.{{ count }}) over month_to_date as {{ mtd }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ days }}
    window
        entity_days as (
            partition by {{ days }}.{{ entity_id }}
            order by {{ days }}.metric_date
        ),
        entity_history as (
            partition by {{ days }}.{{ entity_id }}
            order by {{ days }}.metric_date
            rows between unbounded preceding and current row
        ),
        month_to_date as (
            partition by {{ days }}.{{ entity_id }}, {{ days }}.metric_month
            order by {{ days }}.metric_date
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
    cast(cast(metrics.minutes_saved_28d as {{ type_double() }}) / 60.0 as {{ type_double() }}) as hours_saved_28d,
    cast(metrics.minutes_saved_total as {{ type_double() }}) as minutes_saved_total,
    cast(metrics.invites_total as {{ int_type }}) as invites_total,
    cast(metrics.seats_added_total as {{ int_type }}) as seats_added_total,
    cast(metrics.tasks_mtd as {{ int_type }}) as tasks_mtd,
    cast(metrics.workflows_mtd as {{ int_type }}) as workflows_mtd,
    cast(metrics.reports_mtd as {{ int_type }}) as reports_mtd
{%- endmacro %}
