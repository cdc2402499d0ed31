{#-
    The instant a run holds the events up to (UTC, a timestamp): an event that happened at or
    after it is not used. From the `events_through` var ('YYYY-MM-DD HH:MM:SS', UTC); without
    it, the end of as_of_date. The weekly report schedule sets it later than that to rebuild a
    Sunday with the evening of the users west of UTC, whose local Sunday ends on the UTC
    Monday (docs/operations.md, "Weekly report").
-#}
{% macro events_through() -%}
    {%- if var('events_through', none) -%}
        cast('{{ var("events_through") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
