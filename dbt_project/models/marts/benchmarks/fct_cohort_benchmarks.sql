-- One row per account, calendar month and metric: the account against its peer cohort
-- (accounts of the same employee band created before the start of the month), with the
-- anonymity rule: a cohort of fewer than `min_cohort_size` (var) accounts publishes nothing.

with

benchmark_values as (
    select * from {{ ref('int_account_benchmark_values') }}
),

ranked as (
    select
        account_id,
        employee_band,
        month,
        metric,
        value,
        count(*) over cohort as cohort_size,
        avg(value) over cohort as cohort_mean,
        -- ties share the lower rank
        rank() over cohort_by_value as value_rank,
        percent_rank() over cohort_by_value as value_percent_rank
    from benchmark_values
    window
        cohort as (partition by employee_band, month, metric),
        cohort_by_value as (partition by employee_band, month, metric order by value)
),

published as (
    select
        *,
        cohort_size >= {{ rule('min_cohort_size') }} as is_published
    from ranked
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        month,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(value as {{ type_double() }}) as value,
        cast(employee_band as {{ dbt.type_string() }}) as employee_band,
        cast(cohort_size as {{ dbt.type_int() }}) as cohort_size,
        is_published,
        cast(case when is_published then cohort_mean end as {{ type_double() }}) as cohort_avg,
        cast(
            case
                when is_published and cohort_mean <> 0
                    then (value - cohort_mean) / cohort_mean * 100
            end as {{ type_double() }}
        ) as pct_vs_cohort_avg,
        cast(case when is_published then value_percent_rank * 100 end as {{ type_double() }}) as percentile_rank,
        -- percentile_rank >= 90, in exact integer arithmetic: (rank - 1) / (size - 1) >= 0.9
        case
            when is_published then (value_rank - 1) * 10 >= (cohort_size - 1) * 9
        end as is_top_10pct
    from published
)

select * from final
