{{ config(materialized='view') }}
-- Version 1 of fct_cohort_benchmarks, kept under the model's own name for the BI tools that
-- read is_top_10pct until its deprecation date: version 2 with is_top_10pct instead of
-- top_percent. Its 10 is the column's definition, not a rule: the rule is top_percent.
-- A view: a projection of version 2, which is incremental; its contract holds for a view.

with

cohort_benchmarks as (
    select * from {{ ref('fct_cohort_benchmarks', v=2) }}
),

final as (
    select
        account_id,
        month,
        metric,
        value,
        employee_band,
        cohort_scope,
        cohort_size,
        is_published,
        cohort_avg,
        pct_vs_cohort_avg,
        percentile_rank,
        -- percentile_rank = (rank - 1) / (cohort_size - 1) * 100: rounding gives back the rank
        case
            when is_published
                then {{ is_in_top_percent('round(percentile_rank * (cohort_size - 1) / 100) + 1', 'cohort_size', 10) }}
        end as is_top_10pct,
        is_top_percent
    from cohort_benchmarks
)

select * from final
