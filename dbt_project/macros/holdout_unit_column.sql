{#- The column whose hash puts a user in the holdout: var holdout_unit (dbt_project.yml). -#}
{% macro holdout_unit_column() -%}
    {%- set unit = var('holdout_unit') -%}
    {%- if unit not in ['account', 'user'] -%}
        {{ exceptions.raise_compiler_error("var holdout_unit is '" ~ unit ~ "': it must be 'account' or 'user'") }}
    {%- endif -%}
    {{- return(unit ~ '_id') -}}
{%- endmacro %}
