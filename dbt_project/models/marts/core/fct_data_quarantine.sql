-- One row per quarantined raw row, from every raw table: where it came from, the first
-- rule it broke and the row as JSON text, redacted. Rows here are not in staging, and every
-- raw row is in exactly one of the two (tests/assert_raw_rows_equal_staged_plus_quarantined).
-- The raw row, personal data included, stays in intermediate.int_data_quarantine (operators).
-- A full table every run, not incremental: small (bad rows only), and it must hold every raw
-- row staging rejects, including rows a later file makes good (assert_raw_rows_equal_staged_plus_quarantined).

{#-
    The raw tables with personal data, and the keys of their raw_payload (their base_ model's
    json_object_from_columns), in order. The redacted payload hashes each e-mail address (key
    `email` becomes `email_hash`, keyed as dim_users.email_hash) and drops first names. The
    other tables carry none: their redacted payload is the raw one.
-#}
{%- set personal_payload_keys = {
    'users': ['user_id', 'account_id', 'email', 'first_name', 'locale', 'timezone', 'role', 'created_at'],
    'email_events': ['sg_event_id', 'sg_message_id', 'email', 'event', 'timestamp', 'send_key', 'url'],
    'unsubscribes': ['email', 'unsubscribed_at', 'group'],
} %}
{%- set hashed_email_keys = ['email'] %}
{%- set dropped_keys = ['first_name'] %}

with

quarantine as (
    select * from {{ ref('int_data_quarantine') }}
),

redacted as (
    select
        *,
        case source_table
            {%- for source_table, keys in personal_payload_keys.items() %}
            when '{{ source_table }}'
                then {{ redacted_json_payload('raw_payload', keys, hashed_email_keys, dropped_keys) }}
            {%- endfor %}
            else raw_payload
        end as redacted_payload
    from quarantine
),

final as (
    select
        cast(quarantine_id as {{ dbt.type_string() }}) as quarantine_id,
        cast(source_table as {{ dbt.type_string() }}) as source_table,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_row as {{ dbt.type_bigint() }}) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(redacted_payload as {{ dbt.type_string() }}) as redacted_payload
    from redacted
)

select * from final
