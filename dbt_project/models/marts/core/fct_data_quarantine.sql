-- One row per quarantined raw row, from every raw table: where it came from, the first
-- rule it broke and the row itself as JSON text. Rows here are not in staging, and every
-- raw row is in exactly one of the two (tests/assert_raw_rows_equal_staged_plus_quarantined).

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
        cast(source_table as {{ dbt.type_string() }}) as source_table,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_row as {{ dbt.type_bigint() }}) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(raw_payload as {{ dbt.type_string() }}) as raw_payload
    from quarantined
)

select * from final
