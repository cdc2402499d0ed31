-- Every raw account row, typed, with the first quarantine rule it breaks (null = good).
-- Rules, in order: see the docs block `quarantine_rules_accounts`.

with

source as (
    select * from {{ source('product', 'accounts') }}
),

typed as (
    select
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('account_name') }} as account_name,
        {{ clean_text('industry') }} as industry,
        {{ parse_non_negative_integer('employee_count') }} as employee_count,
        {{ clean_text('plan') }} as plan,
        {{ clean_text('seats') }} is null as is_seats_missing,
        {{ parse_non_negative_integer('seats') }} as seats,
        {{ try_parse_timestamp_utc('created_at') }} as created_at,
        {{ clean_text('country') }} as country,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns([
            'account_id', 'account_name', 'industry', 'employee_count',
            'plan', 'seats', 'created_at', 'country',
        ]) }} as raw_payload
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id
            order by loaded_at, source_file, source_row
        ) as account_id_copy_number
    from typed
),

checked as (
    select
        *,
        case
            when account_id is null
                then 'missing_id'
            when account_id_copy_number > 1
                then 'duplicate_id'
            when created_at is null
                then 'invalid_timestamp'
            when created_at > {{ dbt.dateadd('minute', var('future_tolerance_minutes'), 'loaded_at') }}
                then 'future_timestamp'
            when employee_count is null or (seats is null and not is_seats_missing)
                then 'invalid_value'
        end as quarantine_reason
    from ranked
),

final as (
    select
        account_id,
        account_name,
        industry,
        employee_count,
        plan,
        seats,
        created_at,
        country,
        source_file,
        source_row,
        loaded_at,
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when quarantine_reason is not null then raw_payload end as raw_payload,
        quarantine_reason
    from checked
)

select * from final
