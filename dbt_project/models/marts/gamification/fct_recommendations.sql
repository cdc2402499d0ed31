-- Up to `recommendations_max_rank` (a rule) ranked recommendations per user and day: the best
-- of int_recommendation_estimates_daily, where the rules (stage, prerequisites, not already
-- done), the peer estimate and its shrinkage toward the seed default are (docs/
-- engagement-model.md, "Recommendations"). The e-mail shows at most 2.
-- Users only (entity_type = 'user'): accounts get no recommendations of their own.

with

estimates as (
    select * from {{ ref('int_recommendation_estimates_daily') }}
),

final as (
    select
        cast('user' as varchar) as entity_type,
        cast(user_id as varchar) as entity_id,
        cast(account_id as varchar) as account_id,
        cast(metric_date as date) as as_of_date,
        cast(recommendation_rank as integer) as rank,
        cast(recommendation as varchar) as recommendation,
        cast(est_hours_saved_per_week as {{ type_double() }}) as est_hours_saved_per_week,
        cast(estimate_source as varchar) as estimate_source,
        cast(employee_band as varchar) as employee_band,
        cast(stage as varchar) as stage,
        cast(cohort_size as integer) as cohort_size,
        cast(peer_count as integer) as peer_count,
        cast(peer_share_pct as {{ type_double() }}) as peer_share_pct,
        cast(metric as varchar) as metric,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(cohort_metric_value as {{ type_double() }}) as cohort_metric_value,
        cast(cta_id as varchar) as cta_id,
        cast(app_path as varchar) as app_path,
        cast(description as varchar) as description
    from estimates
    where recommendation_rank <= {{ rule('recommendations_max_rank') }}
)

select * from final
