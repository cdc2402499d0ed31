-- The cohort fallback: in the latest month, every employee band with accounts has published
-- cohort benchmarks, as long as all accounts together reach min_cohort_size (a rule of seed
-- engagement_rules). Returns the bands left without a comparison.

with

benchmarks as (
    select * from {{ ref('fct_cohort_benchmarks') }}
),

latest_month as (
    select max(month) as month
    from benchmarks
),

latest as (
    select benchmarks.*
    from benchmarks
    inner join latest_month
        on benchmarks.month = latest_month.month
),

population as (
    select count(distinct account_id) as accounts
    from latest
),

bands as (
    select
        employee_band,
        max(case when is_published then 1 else 0 end) as has_published_rows
    from latest
    group by employee_band
)

select bands.*
from bands
cross join population
where
    population.accounts >= {{ rule('min_cohort_size') }}
    and bands.has_published_rows = 0
