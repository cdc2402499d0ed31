-- Every `metric` named by seeds gamification_levels and badges must be one that
-- int_entity_metric_values_daily unpivots (macros/gamification_metrics.sql); otherwise that
-- level or badge could never be reached. Returns the unknown metrics.

with

levels as (
    select * from {{ ref('gamification_levels') }}
),

badges as (
    select * from {{ ref('badges') }}
),

known_metrics as (
    {%- for metric in gamification_metrics() %}
    select '{{ metric }}' as metric
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

seed_metrics as (
    select
        'gamification_levels' as seed_name,
        level as rule,
        metric
    from levels

    union all

    select
        'badges' as seed_name,
        badge as rule,
        metric
    from badges
),

final as (
    select seed_metrics.*
    from seed_metrics
    left join known_metrics
        on seed_metrics.metric = known_metrics.metric
    where known_metrics.metric is null
)

select * from final
