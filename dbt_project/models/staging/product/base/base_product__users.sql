-- Every raw user row, typed, with the first of the rules that read only the users table it
-- breaks (null = none). stg_product__users_checked applies the rule that reads another table
-- and cleans the locale and time zone. Rules, in order: see the docs block
-- `quarantine_rules_users`.

with

source as (
    select * from {{ source('product', 'users') }}
),

typed as (
    select
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('account_id') }} as account_id,
        {{ normalize_email('email') }} as email,
        {{ clean_text('first_name') }} as first_name,
        locale as locale_raw,
        timezone as timezone_raw,
        {{ clean_text('role') }} as role,
        {{ try_parse_timestamp_utc('created_at') }} as created_at,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns([
            'user_id', 'account_id', 'email', 'first_name',
            'locale', 'timezone', 'role', 'created_at',
        ]) }} as raw_payload
    from source
),

ranked as (
    select
        *,
        -- copies are counted among rows that passed missing_id (the rule before)
        row_number() over (
            partition by user_id, account_id is null
            order by loaded_at, source_file, source_row
        ) as user_id_copy_number
    from typed
),

checked as (
    select
        *,
        case
            when user_id is null or account_id is null
                then 'missing_id'
            when user_id_copy_number > 1
                then 'duplicate_id'
            when created_at is null
                then 'invalid_timestamp'
            when not {{ is_valid_email('email') }}
                then 'invalid_email'
        end as quarantine_reason
    from ranked
),

final as (
    select
        user_id,
        account_id,
        email,
        first_name,
        locale_raw,
        timezone_raw,
        role,
        created_at,
        source_file,
        source_row,
        loaded_at,
        raw_payload,
        quarantine_reason
    from checked
)

select * from final
