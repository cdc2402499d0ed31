-- The employee bands (seed) must cover every non-negative employee count exactly once:
-- the first band starts at 0, each next band starts right after the previous one ends,
-- and only the last band is open-ended. Returns the offending bands.

with

bands as (
    select * from {{ ref('employee_bands') }}
),

ordered as (
    select
        employee_band,
        lower_bound,
        upper_bound,
        lead(lower_bound) over (order by lower_bound) as next_lower_bound,
        row_number() over (order by lower_bound) as band_number
    from bands
),

final as (
    select * from ordered
    where
        (band_number = 1 and lower_bound <> 0)
        or upper_bound < lower_bound
        or (next_lower_bound is not null and (upper_bound is null or next_lower_bound <> upper_bound + 1))
        or (next_lower_bound is null and upper_bound is not null)
)

select * from final
