-- One row per (good) user: attributes for reports and e-mails, the holdout flag and a hash
-- of the e-mail address. The raw address is deliberately not here (BI-facing mart).

with

users as (
    select * from {{ ref('stg_product__users') }}
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(locale as {{ dbt.type_string() }}) as locale,
        cast(language as {{ dbt.type_string() }}) as language,
        cast(timezone as {{ dbt.type_string() }}) as timezone,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        {{ hash_bucket('user_id', 100, var('holdout_salt')) }} < {{ rule('holdout_pct') }} as is_holdout,
        cast({{ dbt.hash(normalize_email('email')) }} as {{ dbt.type_string() }}) as email_hash
    from users
)

select * from final
