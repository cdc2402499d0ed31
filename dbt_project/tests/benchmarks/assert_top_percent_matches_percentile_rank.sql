-- is_top_percent is percentile_rank >= 100 - top_percent, in the account cohorts and in the
-- user stage cohorts, and the column top_percent beside it is the rule of seed
-- engagement_rules. The flag is decided in exact arithmetic on the rank; the comparison here
-- allows for the rounding of percentile_rank. Returns the rows where they disagree.

with

cohort_benchmarks as (
    select * from {{ ref('fct_cohort_benchmarks') }}
),

user_percentiles as (
    select * from {{ ref('fct_user_engagement_percentiles') }}
),

flags as (
    select
        'fct_cohort_benchmarks' as model_name,
        account_id as entity_id,
        month,
        percentile_rank,
        is_top_percent,
        top_percent
    from cohort_benchmarks
    where is_published

    union all

    select
        'fct_user_engagement_percentiles' as model_name,
        user_id as entity_id,
        month,
        percentile_rank,
        is_top_percent,
        top_percent
    from user_percentiles
    where is_published
)

select * from flags
where
    top_percent <> {{ rule('top_percent') }}
    or is_top_percent <> (percentile_rank >= 100 - top_percent - 1e-9)
