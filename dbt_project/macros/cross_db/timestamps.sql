{#-
    Timestamp parsing for raw text. Both macros return a naive `timestamp` in UTC, or null
    when the text is not a timestamp; they never raise.

    try_parse_timestamp_utc(expr): ISO-8601 date or date-time ('2026-03-01',
    '2026-03-01T10:00', '2026-03-01 10:00:00.123'), optionally with an offset ('Z', '+02',
    '+0200', '+02:00'). Naive means UTC. 'T' and 'Z' may be lower case. The pattern is
    checked first (so words like 'now' or 'infinity', which both databases would accept, are
    rejected, and so are hours past 23 or seconds past 59, which the databases treat
    differently), then the value is cast safely (so '2026-02-30' is null too).
-#}
{% macro iso_timestamp_pattern(with_offset) -%}
    {%- set date_part = '[0-9]{4}-[0-9]{2}-[0-9]{2}' -%}
    {%- set time_part = '[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?' -%}
    {%- if with_offset -%}
        {{ date_part }}{{ time_part }}(Z|[+-][0-9]{2}(:?[0-9]{2})?)
    {%- else -%}
        {{ date_part }}({{ time_part }})?
    {%- endif -%}
{%- endmacro %}

{% macro try_parse_timestamp_utc(expr) -%}
    {{ return(adapter.dispatch('try_parse_timestamp_utc', 'flywheel')(expr)) }}
{%- endmacro %}

{% macro duckdb__try_parse_timestamp_utc(expr) -%}
    {%- set text = 'upper(trim(' ~ expr ~ '))' -%}
    case
        when {{ regexp_full_match(text, iso_timestamp_pattern(true)) }}
            then timezone('UTC', try_cast({{ text }} as timestamptz))
        when {{ regexp_full_match(text, iso_timestamp_pattern(false)) }}
            then try_cast({{ text }} as timestamp)
    end
{%- endmacro %}

{#- PostgreSQL has no try_cast: the flywheel_try_* functions come from create_udfs(). -#}
{% macro postgres__try_parse_timestamp_utc(expr) -%}
    {%- set text = 'upper(trim(' ~ expr ~ '))' -%}
    case
        when {{ regexp_full_match(text, iso_timestamp_pattern(true)) }}
            then {{ target.schema }}.flywheel_try_timestamptz({{ text }}) at time zone 'UTC'
        when {{ regexp_full_match(text, iso_timestamp_pattern(false)) }}
            then {{ target.schema }}.flywheel_try_timestamp({{ text }})
    end
{%- endmacro %}

{#-
    try_parse_epoch_seconds_utc(expr): unix epoch seconds as text ('1772362800',
    '1772362800.25') to a naive UTC timestamp. At most 11 integer digits (before year 5138),
    so the conversion can never overflow.
-#}
{% macro try_parse_epoch_seconds_utc(expr) -%}
    {{ return(adapter.dispatch('try_parse_epoch_seconds_utc', 'flywheel')(expr)) }}
{%- endmacro %}

{% macro default__try_parse_epoch_seconds_utc(expr) -%}
    case
        when {{ regexp_full_match('trim(' ~ expr ~ ')', '[0-9]{1,11}([.][0-9]+)?') }}
            then to_timestamp(cast(trim({{ expr }}) as {{ dbt.type_float() }})) at time zone 'UTC'
    end
{%- endmacro %}

{% macro duckdb__try_parse_epoch_seconds_utc(expr) -%}
    case
        when {{ regexp_full_match('trim(' ~ expr ~ ')', '[0-9]{1,11}([.][0-9]+)?') }}
            then timezone('UTC', to_timestamp(cast(trim({{ expr }}) as double)))
    end
{%- endmacro %}

{#-
    Spark's timestamp is an instant shown in the session's time zone: UTC (the profile). Its
    cast reads an offset only after the seconds: ':00' is added where the time has none.
-#}
{% macro spark__try_parse_timestamp_utc(expr) -%}
    {%- set text = 'upper(trim(' ~ expr ~ '))' -%}
    case
        when {{ regexp_full_match(text, iso_timestamp_pattern(true)) }}
            or {{ regexp_full_match(text, iso_timestamp_pattern(false)) }}
            then try_cast(regexp_replace({{ text }}, '^([^T ]+[T ][0-9]{2}:[0-9]{2})([^:]|$)', '$1:00$2') as timestamp)
    end
{%- endmacro %}

{% macro spark__try_parse_epoch_seconds_utc(expr) -%}
    case
        when {{ regexp_full_match('trim(' ~ expr ~ ')', '[0-9]{1,11}([.][0-9]+)?') }}
            then timestamp_seconds(cast(trim({{ expr }}) as double))
    end
{%- endmacro %}
