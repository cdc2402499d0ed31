{{
    config(
        materialized='incremental',
        unique_key=['entity_type', 'entity_id', 'ladder', 'as_of_date'],
        meta={'window_column': 'as_of_date'},
    )
}}
-- One row per entity (user or account), ladder of seed `gamification_levels` and day of
-- history: the level reached, the next one and the progress towards it, and the level-up
-- flag. The rules (docs/engagement-model.md, "Ladders, levels and badges"):
-- a level is reached when its metric is at least its threshold AND every lower level of the
-- ladder is reached; `level` is the highest level reached. Written once for every ladder:
-- the seed's rows are joined to the unpivoted metrics on `metric`.
-- Incremental (macros/incremental.sql): a run computes the days of its window, carrying the
-- highest level ever of each entity and ladder from the day before the window.

{%- if is_incremental() %}
{%- set window = incremental_window('as_of_date') %}
{%- endif %}

with

metric_values as (
    select * from {{ ref('int_entity_metric_values_daily') }}
    {%- if is_incremental() %}
    where metric_date between {{ window.anchor_day }} and {{ window.end }}
    {%- endif %}
),

levels as (
    select * from {{ ref('gamification_levels') }}
),

ladders as (
    -- level_rank runs 1..n within a ladder and a ladder has one stage (both tested on the seed)
    select
        ladder,
        min(stage) as stage,
        max(level_rank) as top_level_rank
    from levels
    group by ladder
),

{% if is_incremental() %}

anchors as (
    select
        entity_type,
        entity_id,
        ladder,
        highest_level_rank_ever
    from {{ this }}
    where as_of_date = {{ window.anchor_day }}
),

-- entities that started before the window but have no row before it (loaded late): every day
unanchored_entities as (
    select distinct
        metric_values.entity_type,
        metric_values.entity_id
    from metric_values
    left join anchors
        on
            metric_values.entity_type = anchors.entity_type
            and metric_values.entity_id = anchors.entity_id
    where metric_values.metric_date = {{ window.anchor_day }} and anchors.entity_id is null
),

values_to_build as (
    select *
    from metric_values
    where metric_date >= {{ window.start }}

    union all

    select metric_values.*
    from {{ ref('int_entity_metric_values_daily') }} as metric_values
    inner join unanchored_entities
        on
            metric_values.entity_type = unanchored_entities.entity_type
            and metric_values.entity_id = unanchored_entities.entity_id
    where metric_values.metric_date < {{ window.start }}
),

{% else %}

values_to_build as (
    select * from metric_values
),

{% endif %}

level_checks as (
    select
        metric_values.entity_type,
        metric_values.entity_id,
        metric_values.metric_date,
        levels.ladder,
        levels.level,
        levels.level_rank,
        levels.metric,
        levels.threshold,
        levels.requirement,
        metric_values.metric_value,
        coalesce(metric_values.metric_value >= levels.threshold, false) as is_met
    from levels
    inner join values_to_build as metric_values
        on levels.metric = metric_values.metric
),

reached as (
    -- the level reached is the last of the unbroken run of met levels from the bottom
    -- (0 = none): a met level above an unmet one does not count
    select
        entity_type,
        entity_id,
        metric_date,
        ladder,
        coalesce(
            min(case when not is_met then level_rank end) - 1,
            max(level_rank)
        ) as level_rank
    from level_checks
    group by entity_type, entity_id, metric_date, ladder
),

with_history as (
    -- the highest level ever, and the one before this day: the same window one row shorter,
    -- so both are computed in one sort; from the day before the window in an incremental run
    {%- set anchored_rank = 'coalesce(anchors.highest_level_rank_ever, 0)' if is_incremental() else '0' %}
    select
        reached.*,
        greatest(
            {{ anchored_rank }},
            max(reached.level_rank) over (
                partition by reached.entity_type, reached.entity_id, reached.ladder
                order by reached.metric_date
                rows between unbounded preceding and current row
            )
        ) as highest_level_rank_ever,
        greatest(
            {{ anchored_rank }},
            coalesce(
                max(reached.level_rank) over (
                    partition by reached.entity_type, reached.entity_id, reached.ladder
                    order by reached.metric_date
                    rows between unbounded preceding and 1 preceding
                ),
                0
            )
        ) as previous_highest_level_rank
    from reached
    {%- if is_incremental() %}
    left join anchors
        on
            reached.entity_type = anchors.entity_type
            and reached.entity_id = anchors.entity_id
            and reached.ladder = anchors.ladder
    {%- endif %}
),

joined as (
    select
        with_history.entity_type,
        with_history.entity_id,
        with_history.ladder,
        with_history.metric_date,
        ladders.stage,
        with_history.level_rank,
        with_history.level_rank = ladders.top_level_rank as is_top_level,
        current_level.level,
        current_level.metric as current_metric,
        current_level.threshold as current_threshold,
        -- the level measured: the next one, or the top level once it is reached
        target_level.level as target_level,
        target_level.metric,
        target_level.metric_value,
        target_level.threshold as target_threshold,
        target_level.requirement as target_requirement,
        with_history.highest_level_rank_ever,
        highest_level.level as highest_level_ever,
        -- a new highest level, the ladder's first included: celebrated once, even when a
        -- level is lost and regained later (the highest ever does not go up again)
        with_history.highest_level_rank_ever > with_history.previous_highest_level_rank as is_level_up
    from with_history
    inner join ladders
        on with_history.ladder = ladders.ladder
    inner join level_checks as target_level
        on
            with_history.entity_type = target_level.entity_type
            and with_history.entity_id = target_level.entity_id
            and with_history.metric_date = target_level.metric_date
            and with_history.ladder = target_level.ladder
            and target_level.level_rank = least(with_history.level_rank + 1, ladders.top_level_rank)
    left join levels as current_level
        on
            with_history.ladder = current_level.ladder
            and with_history.level_rank = current_level.level_rank
    left join levels as highest_level
        on
            with_history.ladder = highest_level.ladder
            and with_history.highest_level_rank_ever = highest_level.level_rank
),

measured as (
    select
        *,
        case when not is_top_level then target_level end as next_level,
        case when not is_top_level then target_threshold end as next_threshold,
        case when not is_top_level then target_requirement end as next_requirement,
        -- progress starts from the current level's threshold when the next level counts the
        -- same metric, from 0 when it counts another one (e.g. Builder -> Integrator)
        case
            when current_metric = metric then current_threshold
            else 0
        end as progress_base
    from joined
),

progressed as (
    select
        *,
        100.0 * (metric_value - progress_base) / nullif(next_threshold - progress_base, 0) as unclamped_progress_pct
    from measured
),

final as (
    select
        cast(entity_type as {{ type_varchar() }}) as entity_type,
        cast(entity_id as {{ type_varchar() }}) as entity_id,
        cast(ladder as {{ type_varchar() }}) as ladder,
        cast(metric_date as date) as as_of_date,
        cast(stage as {{ type_varchar() }}) as stage,
        cast(level as {{ type_varchar() }}) as level,
        cast(level_rank as integer) as level_rank,
        cast(next_level as {{ type_varchar() }}) as next_level,
        cast(metric as {{ type_varchar() }}) as metric,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(next_threshold as {{ type_double() }}) as next_threshold,
        cast(next_threshold - metric_value as {{ type_double() }}) as remaining_to_next,
        cast(
            case
                when is_top_level then 100
                when unclamped_progress_pct < 0 then 0
                when unclamped_progress_pct > 100 then 100
                else unclamped_progress_pct
            end as {{ type_double() }}
        ) as progress_pct,
        cast(next_requirement as {{ type_varchar() }}) as next_requirement,
        cast(highest_level_ever as {{ type_varchar() }}) as highest_level_ever,
        cast(highest_level_rank_ever as integer) as highest_level_rank_ever,
        cast(is_level_up as boolean) as is_level_up
    from progressed
)

select * from final
