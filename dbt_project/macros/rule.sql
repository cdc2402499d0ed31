{#-
    rule(name): the value of one rule of seed `engagement_rules`, as a scalar subquery.

    Rules are data, not vars, so that `dbt build -s state:modified+` rebuilds exactly what a
    changed rule touches: every model that calls rule() refs the seed. The subquery is
    uncorrelated, so the warehouse evaluates it once per query. A name that is not in the
    seed is a compile error (tests/test_dbt_project.py checks every call against the seed).
-#}
{% macro rule(name) -%}
    (select engagement_rules.value from {{ ref('engagement_rules') }} as engagement_rules where engagement_rules.rule = '{{ name }}')
{%- endmacro %}
