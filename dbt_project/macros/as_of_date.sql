{#-
    The day a run builds the history up to (UTC), from the run's `as_of_date` ('YYYY-MM-DD', macros/run_var.sql).
    Without it, the last complete UTC day. Every mart that has an as_of_date grain stops here,
    so a run for a past day never sees events from after that day.
-#}
{% macro as_of_date() -%}
    {%- if run_var('as_of_date') -%}
        cast('{{ run_var("as_of_date") }}' as date)
    {%- else -%}
        cast({{ dbt.dateadd('day', -1, 'current_date') }} as date)
    {%- endif -%}
{%- endmacro %}
