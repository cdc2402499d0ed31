-- Anonymity: a cohort benchmark is published exactly when its cohort has at least
-- min_cohort_size accounts (a rule of seed engagement_rules). Returns the rows that break it.

with

benchmarks as (
    select * from {{ ref('fct_cohort_benchmarks') }}
)

select * from benchmarks
where is_published <> (cohort_size >= {{ rule('min_cohort_size') }})
