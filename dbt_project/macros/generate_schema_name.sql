{#-
    Use a model's custom schema verbatim (`marts`, not `<target schema>_marts`), so BI tools
    read the same schema names on every target. Without a custom schema, the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
