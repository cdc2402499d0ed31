-- One row per user, day and recommendation that applies to the user that day (is_candidate
-- of int_recommendation_rules_daily), with its estimated benefit and its rank among the
-- user's recommendations of the day. fct_recommendations keeps the best
-- `recommendations_max_rank`; rpt_email_payloads reads every rank, so that a trigger can pin
-- the recommendation it is about even when it is not among them.
--
-- The estimate (weekly hours saved) comes from comparable peers: users of the same employee
-- band AND the same stage that day who have done it (for scope 'account': whose account
-- has). With n such peers (at least `recommendation_min_peers`) whose median weekly hours
-- saved is m, and the seed's default d counting as k = `recommendation_prior_weight` peers:
--   estimate = (n * m + k * d) / (n + k)
-- With fewer than `recommendation_min_peers` peers, or where the benefit is not time saved
-- by automation (seed column estimate_from_peers false): the default d.
-- Ranked by the estimate, highest first, ties by name.

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
        stage,
        metric_date,
        recommendation,
        count(*) as cohort_size,
        count(case when is_done then 1 end) as peer_count,
        {{ median('case when is_done then weekly_hours_saved end') }} as peer_median_weekly_hours_saved
    from rules
    group by employee_band, stage, metric_date, recommendation
),

candidates as (
    select
        rules.user_id,
        rules.account_id,
        rules.employee_band,
        rules.stage,
        rules.metric_date,
        rules.recommendation,
        recommendations.scope,
        rules.metric,
        rules.metric_value,
        rules.cohort_metric_value,
        recommendations.default_hours_saved_per_week,
        recommendations.cta_id,
        recommendations.app_path,
        recommendations.description,
        peers.cohort_size,
        peers.peer_count,
        peers.peer_median_weekly_hours_saved,
        coalesce(
            recommendations.estimate_from_peers
            and peers.peer_count >= {{ rule('recommendation_min_peers') }},
            false
        ) as is_estimated_from_peers
    from rules
    inner join recommendations
        on rules.recommendation = recommendations.recommendation
    left join peers
        on
            rules.employee_band = peers.employee_band
            and rules.stage = peers.stage
            and rules.metric_date = peers.metric_date
            and rules.recommendation = peers.recommendation
    where rules.is_candidate
),

estimated as (
    select
        *,
        case
            when is_estimated_from_peers
                then
                    (
                        peer_count * peer_median_weekly_hours_saved
                        + {{ rule('recommendation_prior_weight') }} * default_hours_saved_per_week
                    )
                    / (peer_count + {{ rule('recommendation_prior_weight') }})
            else default_hours_saved_per_week
        end as est_hours_saved_per_week
    from candidates
),

final as (
    select
        user_id,
        account_id,
        employee_band,
        stage,
        metric_date,
        recommendation,
        scope,
        row_number() over (
            partition by user_id, metric_date
            order by est_hours_saved_per_week desc, recommendation asc
        ) as recommendation_rank,
        est_hours_saved_per_week,
        case when is_estimated_from_peers then 'peers' else 'default' end as estimate_source,
        cohort_size,
        peer_count,
        -- anonymity: no share is published for a cohort smaller than min_cohort_size
        cast(
            case
                when cohort_size >= {{ rule('min_cohort_size') }}
                    then 100.0 * peer_count / cohort_size
            end as {{ type_double() }}
        ) as peer_share_pct,
        metric,
        metric_value,
        cohort_metric_value,
        cta_id,
        app_path,
        description
    from estimated
)

select * from final
