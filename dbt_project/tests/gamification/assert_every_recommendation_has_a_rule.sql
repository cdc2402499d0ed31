-- Every recommendation of seed `recommendations` must have a rule in
-- int_recommendation_rules_daily (a new seed row needs its SQL condition too), and every
-- rule a seed row (checked by a relationships test on the model). Returns the seed rows
-- without a rule. Skipped (passes) while there is no user history at all.

with

recommendations as (
    select * from {{ ref('recommendations') }}
),

rules as (
    select * from {{ ref('int_recommendation_rules_daily') }}
),

rule_names as (
    select distinct recommendation from rules
),

final as (
    select
        recommendations.recommendation,
        recommendations.condition
    from recommendations
    left join rule_names
        on recommendations.recommendation = rule_names.recommendation
    where
        rule_names.recommendation is null
        and exists (select 1 from rules)
)

select * from final
