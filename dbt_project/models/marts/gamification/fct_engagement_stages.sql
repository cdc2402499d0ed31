-- One row per entity (user or account) and day of history: its stable engagement stage, the
-- stage its rule gives that day, and the dormant flag. The rules are in
-- int_user_stages_daily (users) and int_account_stages_daily (accounts, from the shares of
-- their users); docs/engagement-model.md, "Stages", says them in plain words.

with

user_stages as (
    select * from {{ ref('int_user_stages_daily') }}
),

account_stages as (
    select * from {{ ref('int_account_stages_daily') }}
),

unioned as (
    select
        'user' as entity_type,
        user_id as entity_id,
        metric_date,
        stage,
        rule_stage,
        is_dormant
    from user_stages

    union all

    select
        'account' as entity_type,
        account_id as entity_id,
        metric_date,
        stage,
        rule_stage,
        is_dormant
    from account_stages
),

with_previous as (
    select
        *,
        lag(stage) over (
            partition by entity_type, entity_id
            order by metric_date
        ) as previous_stage
    from unioned
),

final as (
    select
        cast(entity_type as varchar) as entity_type,
        cast(entity_id as varchar) as entity_id,
        cast(metric_date as date) as as_of_date,
        cast(stage as varchar) as stage,
        cast(previous_stage as varchar) as previous_stage,
        -- the first day of an entity's history is not a change (there is no previous stage)
        cast(coalesce(stage <> previous_stage, false) as boolean) as is_stage_change,
        cast(rule_stage as varchar) as rule_stage,
        cast(is_dormant as boolean) as is_dormant
    from with_previous
)

select * from final
