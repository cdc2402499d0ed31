-- One row per (good) account: its attributes and peer-cohort employee band.
-- A full table every run, not incremental: one row per account, so it grows with accounts, not
-- days, and an account's attributes change in place.

with

accounts as (
    select * from {{ ref('stg_product__accounts') }}
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(employee_count as {{ dbt.type_bigint() }}) as employee_count,
        cast(employee_band as {{ dbt.type_string() }}) as employee_band,
        cast(plan as {{ dbt.type_string() }}) as plan,
        cast(seats as {{ dbt.type_bigint() }}) as seats,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from accounts
)

select * from final
