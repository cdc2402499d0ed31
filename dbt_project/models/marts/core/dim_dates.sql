-- One row per calendar day from 2020 to 2035: a calendar, and the time spine MetricFlow joins
-- the metrics to (models/semantic/). Wider than any data on purpose.
with days as (
    {{ day_series("cast('2020-01-01' as date)", "cast('2035-12-31' as date)") }}
),

final as (
    select date_day
    from days
)

select * from final
