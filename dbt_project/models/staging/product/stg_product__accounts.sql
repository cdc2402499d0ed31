-- Good accounts (no quarantine reason), with their peer-cohort employee band.

with

accounts as (
    select * from {{ ref('base_product__accounts') }}
    where quarantine_reason is null
),

employee_bands as (
    select * from {{ ref('employee_bands') }}
),

final as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.industry,
        accounts.employee_count,
        employee_bands.employee_band,
        accounts.plan,
        accounts.seats,
        accounts.country,
        accounts.created_at,
        cast(accounts.created_at as date) as created_date,
        accounts.source_file,
        accounts.source_row,
        accounts.loaded_at
    from accounts
    left join employee_bands
        on
            accounts.employee_count >= employee_bands.lower_bound
            and (
                employee_bands.upper_bound is null
                or accounts.employee_count <= employee_bands.upper_bound
            )
)

select * from final
