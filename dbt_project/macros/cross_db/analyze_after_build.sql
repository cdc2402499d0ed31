{#-
    analyze_after_build(relation): a post-hook (dbt_project.yml) that refreshes the planner
    statistics of a model just built as a table, where the adapter needs it.

    PostgreSQL collects statistics in the background (autovacuum), so the next model would
    otherwise be planned from default guesses: joins on the big marts then run as nested
    loops, up to a minute per model instead of a second. DuckDB keeps its statistics as it
    writes: nothing to do there (an empty hook is skipped).
-#}
{% macro analyze_after_build(relation) -%}
    {{ return(adapter.dispatch('analyze_after_build', 'flywheel')(relation)) }}
{%- endmacro %}

{% macro default__analyze_after_build(relation) -%}
{%- endmacro %}

{% macro postgres__analyze_after_build(relation) -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ relation }}
    {%- endif -%}
{%- endmacro %}
