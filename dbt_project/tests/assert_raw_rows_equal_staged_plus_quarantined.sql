-- Nothing is lost, nothing is doubled: for every raw table,
-- count(raw rows) = count(staged rows) + count(quarantined rows).
-- Returns one row per table where that does not hold.

with

raw_counts as (
    {%- set raw_tables = [
        ('product', 'accounts'),
        ('product', 'users'),
        ('product', 'events'),
        ('sendgrid', 'email_events'),
        ('sendgrid', 'unsubscribes'),
    ] %}
    {%- for source_name, table_name in raw_tables %}
    select
        '{{ table_name }}' as source_table,
        count(*) as raw_rows
    from {{ source(source_name, table_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

staged_counts as (
    {%- set staging_models = [
        ('accounts', 'stg_product__accounts'),
        ('users', 'stg_product__users'),
        ('events', 'stg_product__events'),
        ('email_events', 'stg_sendgrid__email_events'),
        ('unsubscribes', 'stg_sendgrid__unsubscribes'),
    ] %}
    {%- for table_name, model_name in staging_models %}
    select
        '{{ table_name }}' as source_table,
        count(*) as staged_rows
    from {{ ref(model_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

quarantined_counts as (
    select
        source_table,
        count(*) as quarantined_rows
    from {{ ref('fct_data_quarantine') }}
    group by source_table
),

final as (
    select
        raw_counts.source_table,
        raw_counts.raw_rows,
        staged_counts.staged_rows,
        coalesce(quarantined_counts.quarantined_rows, 0) as quarantined_rows
    from raw_counts
    left join staged_counts
        on raw_counts.source_table = staged_counts.source_table
    left join quarantined_counts
        on raw_counts.source_table = quarantined_counts.source_table
    where
        raw_counts.raw_rows
        <> coalesce(staged_counts.staged_rows, 0) + coalesce(quarantined_counts.quarantined_rows, 0)
)

select * from final
