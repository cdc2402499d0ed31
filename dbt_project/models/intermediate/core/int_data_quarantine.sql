-- One row per quarantined raw row, from every raw table: where it came from, the first rule
-- it broke and the raw row as JSON text. For operators: the raw row has e-mail addresses and
-- first names, so this model stays in schema `intermediate`, which BI tools do not read; the
-- public mart fct_data_quarantine has the same rows, redacted.

with

accounts as (
    select * from {{ ref('base_product__accounts') }}
),

users as (
    select * from {{ ref('stg_product__users_checked') }}
),

events as (
    select * from {{ ref('stg_product__events_checked') }}
),

email_events as (
    select * from {{ ref('stg_sendgrid__email_events_checked') }}
),

unsubscribes as (
    select * from {{ ref('base_sendgrid__unsubscribes') }}
),

quarantined as (
    {%- set source_tables = ['accounts', 'users', 'events', 'email_events', 'unsubscribes'] %}
    {%- for source_table in source_tables %}
    select
        '{{ source_table }}' as source_table,
        source_file,
        source_row,
        loaded_at,
        quarantine_reason as reason,
        raw_payload
    from {{ source_table }}
    where quarantine_reason is not null
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

final as (
    select
        {{ surrogate_key(['source_table', 'source_file', 'source_row']) }} as quarantine_id,
        source_table,
        source_file,
        source_row,
        loaded_at,
        reason,
        raw_payload
    from quarantined
)

select * from final
