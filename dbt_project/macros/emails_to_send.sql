{#-
    The e-mails to send, as a query: the kept triggers of fct_email_triggers (no
    suppressed_reason), of the days from `start` to `end` when given (SQL dates), of one
    trigger type when given.
-#}
{% macro emails_to_send(start=none, end=none, trigger_type=none) -%}
    select * from {{ ref('fct_email_triggers') }}
    where
        suppressed_reason is null
        {%- if trigger_type %}
        and trigger_type = '{{ trigger_type }}'
        {%- endif %}
        {%- if start %}
        and triggered_on between {{ start }} and {{ end }}
        {%- endif %}
{%- endmacro %}
