{#- A date as 'YYYY-MM-DD' text, and its month as 'YYYY-MM': stable parts of send keys. -#}
{% macro date_label(date_expr) -%}
    cast(cast({{ date_expr }} as date) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro month_label(date_expr) -%}
    substring({{ date_label(date_expr) }}, 1, 7)
{%- endmacro %}
