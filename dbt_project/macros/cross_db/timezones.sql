{#-
    Time zones. `timezone_names()` is a relation with one column, `name`: every IANA name the
    warehouse knows (a user's time zone is valid when it is in this list).
    `convert_from_utc(ts, tz)` turns a naive UTC timestamp into the naive wall-clock time in
    the IANA zone `tz` (a column or a literal), with the zone's DST rules on that date.
-#}
{% macro timezone_names() -%}
    {{ return(adapter.dispatch('timezone_names', 'flywheel')()) }}
{%- endmacro %}

{% macro default__timezone_names() -%}
    (select distinct name from pg_catalog.pg_timezone_names)
{%- endmacro %}

{% macro duckdb__timezone_names() -%}
    (select distinct name from pg_timezone_names())
{%- endmacro %}

{#- Spark lists no time zones: the IANA names of pytz's database, which Java's knows too. -#}
{% macro spark__timezone_names() -%}
    (select explode(array({{ string_literals(modules.pytz.all_timezones) }})) as name)
{%- endmacro %}

{% macro convert_from_utc(timestamp_expr, timezone_expr) -%}
    {{ return(adapter.dispatch('convert_from_utc', 'flywheel')(timestamp_expr, timezone_expr)) }}
{%- endmacro %}

{% macro default__convert_from_utc(timestamp_expr, timezone_expr) -%}
    (({{ timestamp_expr }}) at time zone 'UTC') at time zone {{ timezone_expr }}
{%- endmacro %}

{% macro duckdb__convert_from_utc(timestamp_expr, timezone_expr) -%}
    timezone({{ timezone_expr }}, timezone('UTC', {{ timestamp_expr }}))
{%- endmacro %}

{% macro spark__convert_from_utc(timestamp_expr, timezone_expr) -%}
    from_utc_timestamp({{ timestamp_expr }}, {{ timezone_expr }})
{%- endmacro %}
