-- Every level, next_level and highest_level_ever of fct_gamification_levels is a level of its
-- own ladder in seed gamification_levels: the e-mails name them. Returns each (ladder, column,
-- level) that is not, with the number of rows that have it.

-- It reads a seed too: meta.dagster.ref makes it a Dagster asset check of the model it tests.
{{ config(meta={"dagster": {"ref": {"name": "fct_gamification_levels"}}}) }}

with

levels as (
    select * from {{ ref('fct_gamification_levels') }}
),

ladder_levels as (
    select * from {{ ref('gamification_levels') }}
),

named_levels as (
    select ladder, 'level' as level_column, level as level_value
    from levels
    union all
    select ladder, 'next_level' as level_column, next_level as level_value
    from levels
    union all
    select ladder, 'highest_level_ever' as level_column, highest_level_ever as level_value
    from levels
),

final as (
    select
        named_levels.ladder,
        named_levels.level_column,
        named_levels.level_value,
        count(*) as level_rows
    from named_levels
    left join ladder_levels
        on
            named_levels.ladder = ladder_levels.ladder
            and named_levels.level_value = ladder_levels.level
    where
        named_levels.level_value is not null
        and ladder_levels.level is null
    group by named_levels.ladder, named_levels.level_column, named_levels.level_value
)

select * from final
