{#-
    A value of the run's window: `min_date`, `max_date`, `as_of_date` or `events_through`; none
    when the run does not set it. By hand it is a var (`dbt build --vars '{as_of_date:
    2026-11-22}'`). Dagster passes it in the environment instead, as FLYWHEEL_DBT_<NAME>
    (orchestration/dbt/assets.py), read only when dbt executes: dbt parses the whole project
    again when its command-line vars change, but not for an environment variable it never saw
    while parsing, so every daily run reuses the parse of the one before.
-#}
{% macro run_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('FLYWHEEL_DBT_' ~ name | upper, '') or none -%}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}
