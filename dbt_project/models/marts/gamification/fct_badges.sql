-- One row per user and badge earned (seed `badges`): earned on the first day the badge's
-- metric was at least its threshold, and kept forever, even when the condition stops holding
-- (docs/engagement-model.md, "Ladders, levels and badges"). Users only: badges are personal.

with

metric_values as (
    select * from {{ ref('int_entity_metric_values_daily') }}
    where entity_type = 'user'
),

badges as (
    select * from {{ ref('badges') }}
),

earned as (
    select
        metric_values.entity_id as user_id,
        metric_values.account_id,
        badges.badge,
        min(metric_values.metric_date) as earned_on
    from badges
    inner join metric_values
        on
            badges.metric = metric_values.metric
            and badges.threshold <= metric_values.metric_value
    group by metric_values.entity_id, metric_values.account_id, badges.badge
),

final as (
    select
        cast(earned.user_id as varchar) as user_id,
        cast(earned.account_id as varchar) as account_id,
        cast(earned.badge as varchar) as badge,
        cast(earned.earned_on as date) as earned_on,
        cast(badges.metric as varchar) as metric,
        cast(badges.threshold as {{ type_double() }}) as threshold,
        cast(badges.description as varchar) as description
    from earned
    inner join badges
        on earned.badge = badges.badge
)

select * from final
