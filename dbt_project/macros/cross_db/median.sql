{#-
    median(expr): the median of `expr` as an aggregate (nulls ignored; null when every value is
    null), interpolated between the two middle values for an even count. The SQL-standard
    ordered-set aggregate works on PostgreSQL and DuckDB alike; dispatched so another adapter
    can override it (e.g. `median()` on Snowflake).
-#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'flywheel')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}
