-- One row per (good) user: attributes for reports, the holdout flag and the keyed hash of the
-- e-mail address. No personal data (address, first name): BI tools read this mart; the
-- e-mails read the user from staging.
-- A full table every run, not incremental: one row per user, so it grows with users, not days,
-- and a user's attributes change in place.

with

users as (
    select * from {{ ref('stg_product__users') }}
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(locale as {{ dbt.type_string() }}) as locale,
        cast(language as {{ dbt.type_string() }}) as language,
        cast(timezone as {{ dbt.type_string() }}) as timezone,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        {{ hash_bucket(holdout_unit_column(), 100, var('holdout_salt')) }} < {{ rule('holdout_pct') }} as is_holdout,
        cast({{ email_hash('email') }} as {{ dbt.type_string() }}) as email_hash
    from users
)

select * from final
