{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'badge'],
        meta={'window_column': 'earned_on'},
    )
}}
-- One row per user and badge earned (seed `badges`): earned on the first day the badge's
-- metric was at least its threshold, and kept forever, even when the condition stops holding
-- (docs/engagement-model.md, "Ladders, levels and badges"). Users only: badges are personal.
-- Incremental (macros/incremental.sql): a run reads the metrics of its window, for the badges
-- not earned before it (a badge is never earned twice). The badges earned in the window are
-- earned again (the pre-hook deleted them), so a late event inside the look-back can move
-- earned_on. A user loaded late (after the look-back) earns badges from the window on only,
-- until a full refresh: badges hold no row per day to tell such a user from one who earned none.

{%- if is_incremental() %}
{%- set window = incremental_window('earned_on') %}
{%- endif %}

with

metric_values as (
    select * from {{ ref('int_entity_metric_values_daily') }}
    where entity_type = 'user'
    {%- if is_incremental() %}
        and metric_date between {{ window.start }} and {{ window.end }}
    {%- endif %}
),

badges as (
    select * from {{ ref('badges') }}
),

{% if is_incremental() %}

-- kept forever: the pre-hook deleted only the badges earned from window_start on
earned_before as (
    select
        user_id,
        badge
    from {{ this }}
    where earned_on < {{ window.start }}
),

{% endif %}

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
    {%- if is_incremental() %}
    left join earned_before
        on
            metric_values.entity_id = earned_before.user_id
            and badges.badge = earned_before.badge
    where earned_before.user_id is null
    {%- endif %}
    group by metric_values.entity_id, metric_values.account_id, badges.badge
),

final as (
    select
        cast(earned.user_id as {{ type_varchar() }}) as user_id,
        cast(earned.account_id as {{ type_varchar() }}) as account_id,
        cast(earned.badge as {{ type_varchar() }}) as badge,
        cast(earned.earned_on as date) as earned_on,
        cast(badges.metric as {{ type_varchar() }}) as metric,
        cast(badges.threshold as {{ type_double() }}) as threshold,
        cast(badges.description as {{ type_varchar() }}) as description
    from earned
    inner join badges
        on earned.badge = badges.badge
)

select * from final
