-- The sender's ledger (one row per send_key attempted), typed. Empty, with the same
-- columns, while the ledger table does not exist yet (the sender creates it on its first
-- run), so the feedback marts build on a fresh warehouse.

{%- set ledger = source('flywheel', 'send_ledger') %}
{#- At parse time (execute is false) the source is only recorded; at run time, look it up. -#}
{%- set ledger_exists = (not execute) or (load_relation(ledger) is not none) %}
{#- A ledger the sender has not run on since variants has no variant_id column yet. -#}
{%- set ledger_columns = adapter.get_columns_in_relation(ledger) | map(attribute='name') | map('lower') | list
    if execute and ledger_exists else [] %}

with

{% if ledger_exists -%}
send_ledger as (
    select * from {{ ledger }}
),
{%- else -%}
send_ledger as (
    -- no ledger table yet: no rows (final gives the columns their types)
    select
        null as send_key,
        null as trigger_type,
        null as locale,
        null as to_email_hash,
        null as backend,
        null as status,
        null as attempts,
        null as batch_id,
        null as send_at,
        null as first_attempt_at,
        null as last_attempt_at,
        null as accepted_at,
        null as provider_message_id,
        null as error,
        null as variant_id
    where 1 = 0
),
{%- endif %}

final as (
    {%- set text = dbt.type_string() %}
    {%- set ts = dbt.type_timestamp() %}
    select
        cast({{ clean_text('send_key') }} as {{ text }}) as send_key,
        cast({{ clean_text('trigger_type') }} as {{ text }}) as trigger_type,
        cast({{ clean_text('locale') }} as {{ text }}) as locale,
        cast({{ clean_text('to_email_hash') }} as {{ text }}) as to_email_hash,
        cast({{ clean_text('backend') }} as {{ text }}) as backend,
        cast({{ clean_text('status') }} as {{ text }}) as status,
        cast(attempts as {{ dbt.type_int() }}) as attempts,
        cast({{ clean_text('batch_id') }} as {{ text }}) as batch_id,
        cast(send_at as {{ ts }}) as send_at,
        cast(first_attempt_at as {{ ts }}) as first_attempt_at,
        cast(last_attempt_at as {{ ts }}) as last_attempt_at,
        cast(accepted_at as {{ ts }}) as accepted_at,
        cast({{ clean_text('provider_message_id') }} as {{ text }}) as provider_message_id,
        cast(error as {{ text }}) as error,
        {%- if 'variant_id' in ledger_columns or not ledger_exists %}
        cast({{ clean_text('variant_id') }} as {{ text }}) as variant_id
        {%- else %}
        cast(null as {{ text }}) as variant_id
        {%- endif %}
    from send_ledger
)

select * from final
