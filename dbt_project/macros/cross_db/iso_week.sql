{#-
    iso_year_week(date_expr): the ISO-8601 year and week of a date as text, 'IYYY-Www'
    (e.g. '2026-W47'; 2021-01-03 is '2020-W53'). Weeks start on Monday.
-#}
{% macro iso_year_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_year_week', 'flywheel')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_year_week(date_expr) -%}
    to_char({{ date_expr }}, 'IYYY-"W"IW')
{%- endmacro %}

{% macro duckdb__iso_year_week(date_expr) -%}
    strftime({{ date_expr }}, '%G-W%V')
{%- endmacro %}

{% macro spark__iso_year_week(date_expr) -%}
    concat(extract(yearofweek from {{ date_expr }}), '-W', lpad(weekofyear({{ date_expr }}), 2, '0'))
{%- endmacro %}

{#- iso_day_of_week(date_expr): the ISO day of the week, 1 (Monday) to 7 (Sunday). -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'flywheel')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    extract(isodow from {{ date_expr }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    extract(dayofweek_iso from {{ date_expr }})
{%- endmacro %}
