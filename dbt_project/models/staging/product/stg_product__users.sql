-- Good users (no quarantine reason): e-mail normalised, locale and time zone with their
-- fallbacks applied (see stg_product__users_checked).

with

users as (
    select * from {{ ref('stg_product__users_checked') }}
    where quarantine_reason is null
),

final as (
    select
        user_id,
        account_id,
        email,
        first_name,
        locale,
        language,
        locale_raw,
        timezone,
        timezone_raw,
        role,
        created_at,
        cast(created_at as date) as created_date,
        source_file,
        source_row,
        loaded_at
    from users
)

select * from final
