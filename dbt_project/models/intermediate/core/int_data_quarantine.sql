-- One row per quarantined raw row, from every raw table: where it came from, the first rule
-- it broke and the raw row as JSON text. For operators: the raw row has e-mail addresses and
-- first names, so this model stays in schema `intermediate`, which BI tools do not read; the
-- public mart fct_data_quarantine has the same rows, redacted.

with

accounts as (
    select * from {{ ref('base_product__accounts') }}
),

users as (
    select * from {{ ref('base_product__users') }}
),

events as (
    select * from {{ ref('base_product__events') }}
),

email_events as (
    select * from {{ ref('base_sendgrid__email_events') }}
),

unsubscribes as (
    select * from {{ ref('base_sendgrid__unsubscribes') }}
),

quarantined as (
    {%- set base_models = ['accounts', 'users', 'events', 'email_events', 'unsubscribes'] %}
    {%- for base_model in base_models %}
    select
        '{{ base_model }}' as source_table,
        source_file,
        source_row,
        loaded_at,
        quarantine_reason as reason,
        raw_payload
    from {{ base_model }}
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
