{#-
    redacted_json_payload(payload, keys, hashed_email_keys, dropped_keys): the JSON object text
    `payload` (as json_object_from_columns writes it, with `keys` in this order) without
    personal data: each key of `hashed_email_keys` becomes '<key>_hash', the keyed e-mail hash
    of its value (macros/email_hash.sql), and the keys of `dropped_keys` are left out. Every
    other key keeps its text, in order. Used by fct_data_quarantine.
    (Dispatched directly: sqlfluff's templater cannot nest macros that `return`.)
-#}
{% macro redacted_json_payload(payload, keys, hashed_email_keys, dropped_keys) -%}
    {%- set items = [] -%}
    {%- for key in keys if key not in dropped_keys -%}
        {%- set value = adapter.dispatch('json_extract_text', 'flywheel')(payload, key) -%}
        {%- if key in hashed_email_keys -%}
            {%- do items.append((key ~ '_hash', email_hash(value))) -%}
        {%- else -%}
            {%- do items.append((key, value)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ adapter.dispatch('json_object_from_columns', 'flywheel')(items) }}
{%- endmacro %}
