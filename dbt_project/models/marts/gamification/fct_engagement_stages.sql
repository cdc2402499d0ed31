-- One row per entity (user or account) and day of history: its stable engagement stage, the
-- stage its rule gives that day, and the dormant flag. The rules are in
-- int_user_stages_daily (users) and int_account_stages_daily (accounts, from the shares of
-- their users); docs/engagement-model.md, "Stages", says them in plain words.
-- Incremental (macros/incremental.sql): a run builds the days of its window, carrying the
-- stage of the day before it. A user loaded late is built from its first day, and so is an
-- account whose days before the window changed upstream (a user of it loaded late: accounts
-- are few, so their history is compared whole).
{{
    config(
        materialized='incremental',
        unique_key=['entity_type', 'entity_id', 'as_of_date'],
        meta={'window_column': 'as_of_date'},
    )
}}
{%- if is_incremental() %}
{%- set window = incremental_window('as_of_date') %}
{%- endif %}

with

{% if is_incremental() %}

rebuilt_entities as (
    -- users in the history the day before the window with no row that day (loaded late)
    select
        'user' as entity_type,
        user_id as entity_id
    from {{ ref('int_user_stages_daily') }}
    where metric_date = {{ window.anchor_day }}

    except

    select
        entity_type,
        entity_id
    from {{ this }}
    where entity_type = 'user' and as_of_date = {{ window.anchor_day }}

    union all

    -- accounts whose days before the window are not those upstream any more
    select distinct
        'account' as entity_type,
        changed_days.account_id as entity_id
    from (
        select
            account_id,
            metric_date,
            stage,
            rule_stage,
            is_dormant
        from {{ ref('int_account_stages_daily') }}
        where metric_date < {{ window.start }}

        except

        select
            entity_id,
            as_of_date,
            stage,
            rule_stage,
            is_dormant
        from {{ this }}
        where entity_type = 'account' and as_of_date < {{ window.start }}
    ) as changed_days
),

anchors as (
    select
        this_table.entity_type,
        this_table.entity_id,
        this_table.stage
    from {{ this }} as this_table
    left join rebuilt_entities
        on
            this_table.entity_type = rebuilt_entities.entity_type
            and this_table.entity_id = rebuilt_entities.entity_id
    where this_table.as_of_date = {{ window.anchor_day }} and rebuilt_entities.entity_id is null
),

user_stages as (
    {{ incremental_rows(
        ref('int_user_stages_daily'), 'metric_date', window, 'user_id',
        "select entity_id from rebuilt_entities where entity_type = 'user'",
    ) }}
),

account_stages as (
    {{ incremental_rows(
        ref('int_account_stages_daily'), 'metric_date', window, 'account_id',
        "select entity_id from rebuilt_entities where entity_type = 'account'",
    ) }}
),

{% else %}

anchors as (  -- none: every entity's days are all built
    select
        cast(null as {{ dbt.type_string() }}) as entity_type,
        cast(null as {{ dbt.type_string() }}) as entity_id,
        cast(null as {{ dbt.type_string() }}) as stage
    where false
),

user_stages as (
    select * from {{ ref('int_user_stages_daily') }}
),

account_stages as (
    select * from {{ ref('int_account_stages_daily') }}
),

{% endif %}

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
    -- the stage of the day before: none on the first day of history
    select
        unioned.*,
        coalesce(
            lag(unioned.stage) over (
                partition by unioned.entity_type, unioned.entity_id
                order by unioned.metric_date
            ),
            anchors.stage
        ) as previous_stage
    from unioned
    left join anchors
        on
            unioned.entity_type = anchors.entity_type
            and unioned.entity_id = anchors.entity_id
),

final as (
    select
        cast(entity_type as {{ type_varchar() }}) as entity_type,
        cast(entity_id as {{ type_varchar() }}) as entity_id,
        cast(metric_date as date) as as_of_date,
        cast(stage as {{ type_varchar() }}) as stage,
        cast(previous_stage as {{ type_varchar() }}) as previous_stage,
        -- the first day of an entity's history is not a change (there is no previous stage)
        cast(coalesce(stage <> previous_stage, false) as boolean) as is_stage_change,
        cast(rule_stage as {{ type_varchar() }}) as rule_stage,
        cast(is_dormant as boolean) as is_dormant
    from with_previous
)

select * from final
