{#-
    A deterministic surrogate key: md5 of the values cast to text, joined with '|', with a
    marker for null so that (null, 'a') and ('', 'a') differ. Cross-database through dbt's
    own cross-db macros (dbt.hash, dbt.concat, dbt.type_string).

    Usage: {{ surrogate_key(['source_table', 'source_file', 'source_row']) }}
-#}
{% macro surrogate_key(field_list) -%}
    {%- set parts = [] -%}
    {%- for field in field_list -%}
        {%- do parts.append(
            "coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_flywheel_null_')"
        ) -%}
        {%- if not loop.last -%}
            {%- do parts.append("'|'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
