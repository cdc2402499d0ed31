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

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#-
    type_varchar(): text, as the contracts declare it (`varchar`). dbt.type_string() is `text`
    on PostgreSQL, another type there; Spark's varchar needs a length, its text is `string`.
-#}
{% macro type_varchar() -%}
    {{ return(adapter.dispatch('type_varchar', 'flywheel')()) }}
{%- endmacro %}

{% macro default__type_varchar() -%}
    varchar
{%- endmacro %}

{% macro spark__type_varchar() -%}
    string
{%- endmacro %}

{#-
    type_exact_sum(): the type doubles are summed in where a run carries a sum. An anchor plus
    the sum of a window must equal the running sum of a full refresh to the bit, and double
    additions depend on their order; decimal ones do not. Cast the sum back to type_double().
    6 decimals hold every value the project sums (minutes saved, in steps of 0.5).
-#}
{% macro type_exact_sum() -%}
    decimal(38, 6)
{%- endmacro %}
