{#-
    The metric columns of `int_entity_metrics_daily` that the rule seeds (`gamification_levels`,
    `badges`) may name in their `metric` column. `int_entity_metric_values_daily` unpivots
    exactly these into (metric, metric_value) rows; booleans become 1 (true) or 0 (false), so
    a seed row like `crm_connected,has_crm,1` means "has_crm is true".
    A seed naming a metric that is not listed here fails the test
    tests/gamification/assert_rule_seed_metrics_are_known.sql.
-#}
{% macro gamification_numeric_metrics() -%}
    {{ return([
        'active_days_7d',
        'active_days_28d',
        'current_streak_days',
        'longest_streak_days',
        'onboarding_steps_total',
        'integrations_total',
        'tasks_28d',
        'reports_28d',
        'workflows_28d',
        'bulk_workflows_28d',
        'automated_workflows_28d',
        'automation_runs_28d',
        'bulk_actions_28d',
        'schedules_total',
        'optimized_actions_28d',
        'minutes_saved_28d',
        'hours_saved_28d',
        'minutes_saved_total',
        'invites_total',
        'seats_added_total',
    ]) }}
{%- endmacro %}

{% macro gamification_boolean_metrics() -%}
    {{ return(['has_crm']) }}
{%- endmacro %}

{% macro gamification_metrics() -%}
    {{ return(gamification_numeric_metrics() + gamification_boolean_metrics()) }}
{%- endmacro %}
