{#-
    day_series(start_date, end_date): a subquery-ready SELECT with one column, `date_day`,
    one row per day from `start_date` to `end_date` (both included; none when start > end).
    Both arguments are SQL date expressions, e.g. a scalar subquery or `as_of_date()`.
    Portable: the day offsets are a cross join of five 0-9 digit lists (up to 100,000 days,
    about 270 years), so no adapter-specific generate_series is needed.
-#}
{% macro day_series(start_date, end_date) -%}
    {%- set digits = "(select 0 as n union all select 1 union all select 2 union all select 3 union all select 4 union all select 5 union all select 6 union all select 7 union all select 8 union all select 9)" -%}
    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', start_date) }} as date) as date_day
    from (
        select ones.n + 10 * tens.n + 100 * hundreds.n + 1000 * thousands.n + 10000 * ten_thousands.n as day_offset
        from {{ digits }} as ones
        cross join {{ digits }} as tens
        cross join {{ digits }} as hundreds
        cross join {{ digits }} as thousands
        cross join {{ digits }} as ten_thousands
    ) as day_offsets
    where day_offsets.day_offset <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}
