{#-
    The day a run builds the history up to (UTC), from the `as_of_date` var ('YYYY-MM-DD').
    Without it, the last complete UTC day. Every mart that has an as_of_date grain stops here,
    so a run for a past day never sees events from after that day.
-#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        cast({{ dbt.dateadd('day', -1, 'current_date') }} as date)
    {%- endif -%}
{%- endmacro %}
