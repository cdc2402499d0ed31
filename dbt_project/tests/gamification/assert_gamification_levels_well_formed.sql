-- Seed gamification_levels must describe proper ladders, as fct_gamification_levels assumes:
-- within a ladder, level_rank runs 1, 2, ... n without gaps or repeats; every level of a
-- ladder has the same stage; and a level counting the same metric as a lower level of its
-- ladder needs a strictly higher threshold. Returns the offending ladders.

with

levels as (
    select * from {{ ref('gamification_levels') }}
),

ladders as (
    select
        ladder,
        count(*) as level_count,
        count(distinct level_rank) as distinct_rank_count,
        min(level_rank) as min_rank,
        max(level_rank) as max_rank,
        count(distinct stage) as stage_count
    from levels
    group by ladder
),

badly_ranked as (
    select
        ladder,
        'level_rank is not 1..n, or a ladder has several stages' as problem
    from ladders
    where
        min_rank <> 1
        or max_rank <> level_count
        or distinct_rank_count <> level_count
        or stage_count <> 1
),

badly_ordered as (
    select
        higher.ladder,
        'a level does not need more of its metric than a lower level: ' || higher.level as problem
    from levels as higher
    inner join levels as lower_level
        on
            higher.ladder = lower_level.ladder
            and higher.metric = lower_level.metric
            and higher.level_rank > lower_level.level_rank
    where higher.threshold <= lower_level.threshold
),

final as (
    select * from badly_ranked
    union all
    select * from badly_ordered
)

select * from final
