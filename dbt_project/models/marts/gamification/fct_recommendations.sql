-- Up to `recommendations_max_rank` (var, 3) ranked recommendations per user and day, from the
-- candidates of int_recommendation_rules_daily (the e-mail shows at most 2). Each carries an
-- estimate of the hours it saves per week: the median weekly hours saved by the peers (users
-- of the same employee band, that day) who already do it, or the seed's default where fewer
-- than `min_cohort_size` peers do, or where the benefit is not time saved by automation
-- (seed column estimate_from_peers). Ranked by the estimate, highest first, ties by name.
-- Users only (entity_type = 'user'): accounts get no recommendations of their own.

with

rules as (
    select * from {{ ref('int_recommendation_rules_daily') }}
),

recommendations as (
    select * from {{ ref('recommendations') }}
),

peers as (
    select
        employee_band,
        metric_date,
        recommendation,
        count(*) as cohort_size,
        count(case when is_adopter then 1 end) as peer_count,
        {{ median('case when is_adopter then weekly_hours_saved end') }} as peer_median_weekly_hours_saved
    from rules
    group by employee_band, metric_date, recommendation
),

candidates as (
    select
        rules.user_id,
        rules.account_id,
        rules.employee_band,
        rules.metric_date,
        rules.recommendation,
        rules.metric,
        rules.metric_value,
        rules.cohort_metric_value,
        recommendations.description,
        peers.cohort_size,
        peers.peer_count,
        recommendations.estimate_from_peers
        and peers.peer_count >= {{ rule('min_cohort_size') }} as has_enough_peers,
        case
            when
                recommendations.estimate_from_peers
                and peers.peer_count >= {{ rule('min_cohort_size') }}
                then peers.peer_median_weekly_hours_saved
            else recommendations.default_hours_saved_per_week
        end as est_hours_saved_per_week
    from rules
    inner join recommendations
        on rules.recommendation = recommendations.recommendation
    left join peers
        on
            rules.employee_band = peers.employee_band
            and rules.metric_date = peers.metric_date
            and rules.recommendation = peers.recommendation
    where rules.is_candidate
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id, metric_date
            order by est_hours_saved_per_week desc, recommendation asc
        ) as recommendation_rank
    from candidates
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
        cast(case when has_enough_peers then 'peers' else 'default' end as varchar) as estimate_source,
        cast(employee_band as varchar) as employee_band,
        cast(cohort_size as integer) as cohort_size,
        cast(peer_count as integer) as peer_count,
        -- anonymity: no share is published for a cohort smaller than min_cohort_size
        cast(
            case
                when cohort_size >= {{ rule('min_cohort_size') }}
                    then 100.0 * peer_count / cohort_size
            end as {{ type_double() }}
        ) as peer_share_pct,
        cast(metric as varchar) as metric,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(cohort_metric_value as {{ type_double() }}) as cohort_metric_value,
        cast(description as varchar) as description
    from ranked
    where recommendation_rank <= {{ rule('recommendations_max_rank') }}
)

select * from final
