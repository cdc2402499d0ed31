-- The values peer benchmarks compare: one row per cohort member, calendar month and
-- metric. Months run from the first month with any activity to the month of as_of_date
-- (month to date). An account is in a month's cohort when it was created before the start
-- of the month; its value is 0 when it had no activity.

{%- set metrics = ['tasks_completed', 'workflows_completed', 'reports_generated', 'active_users', 'minutes_saved'] %}

with

accounts as (
    select * from {{ ref('stg_product__accounts') }}
),

account_months as (
    select * from {{ ref('fct_account_activity_monthly') }}
),

first_active_month as (
    select min(month) as month
    from account_months
    where active_days > 0
),

benchmark_months as (
    select distinct account_months.month
    from account_months
    inner join first_active_month
        on account_months.month >= first_active_month.month
),

cohort_members as (
    select
        accounts.account_id,
        accounts.employee_band,
        benchmark_months.month
    from accounts
    inner join benchmark_months
        on accounts.created_at < cast(benchmark_months.month as {{ dbt.type_timestamp() }})
),

member_months as (
    select
        cohort_members.account_id,
        cohort_members.employee_band,
        {%- for metric in metrics %}
        coalesce(account_months.{{ metric }}, 0) as {{ metric }},
        {%- endfor %}
        cohort_members.month
    from cohort_members
    left join account_months
        on
            cohort_members.account_id = account_months.account_id
            and cohort_members.month = account_months.month
),

final as (
    {%- for metric in metrics %}
    select
        account_id,
        employee_band,
        month,
        '{{ metric }}' as metric,
        cast({{ metric }} as {{ type_double() }}) as value
    from member_months
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
)

select * from final
