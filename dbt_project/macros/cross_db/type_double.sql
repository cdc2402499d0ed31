{#-
    type_double(): an 8-byte floating point type. dbt.type_float() is `float`, which is a
    4-byte REAL on DuckDB; `double precision` is the same 8-byte type on DuckDB and
    PostgreSQL. Contracts declare it as `double precision` too.
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'flywheel')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}
