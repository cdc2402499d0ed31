{#-
    True when the WHOLE of `expr` matches the regular expression `pattern` (a SQL string
    literal is built from it, so pass the bare pattern). Null in, null out.
    Write patterns in the subset shared by RE2 (DuckDB) and PostgreSQL's ARE:
    [0-9] rather than \d, [.] rather than \., POSIX classes like [[:space:]].
-#}
{% macro regexp_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'flywheel')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regexp_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark: Java's regular expressions, which write the POSIX class [:space:] as \s. -#}
{% macro spark__regexp_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^({{ pattern | replace('[:space:]', '\\\\s') }})$')
{%- endmacro %}
