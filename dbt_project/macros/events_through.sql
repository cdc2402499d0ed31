{#-
    The instant a run holds the events up to (UTC, a timestamp): an event that happened at or
    after it is not used. From the run's `events_through` ('YYYY-MM-DD HH:MM:SS', UTC, macros/run_var.sql); without
    it, the end of as_of_date. The weekly report schedule sets it later than that to rebuild a
    Sunday with the evening of the users west of UTC, whose local Sunday ends on the UTC
    Monday (docs/operations.md, "Weekly report").
-#}
{% macro events_through() -%}
    {%- if run_var('events_through') -%}
        cast('{{ run_var("events_through") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
