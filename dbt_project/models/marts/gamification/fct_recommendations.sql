{{
    config(
        materialized='incremental',
        unique_key=['entity_id', 'as_of_date', 'rank'],
        meta={'window_column': 'as_of_date'},
    )
}}
-- Up to `recommendations_max_rank` (a rule) ranked recommendations per user and day: the best
-- of int_recommendation_estimates_daily, where the rules (stage, prerequisites, not already
-- done), the peer estimate and its shrinkage toward the seed default are (docs/
-- engagement-model.md, "Recommendations"). The e-mail shows at most 2.
-- Users only (entity_type = 'user'): accounts get no recommendations of their own.
-- Incremental (macros/incremental.sql): a day's ranks read that day only, so a run computes
-- the days of its window, carrying nothing.
-- depends_on: {{ ref('int_recommendation_rules_daily') }}

{%- if is_incremental() %}
{#- a user loaded late (a recommendation applied to the user the day before the window, with no
    row that day) moves the window back to the user's first day, since the peers of the user's
    band and stage change on those days for everyone #}
{%- set window = incremental_window('as_of_date', late_entities={
    'relation': ref('int_recommendation_rules_daily'), 'key': 'user_id', 'this_key': 'entity_id',
    'where': 'upstream.is_candidate',
}) %}
{%- endif %}

with

estimates as (
    select * from {{ ref('int_recommendation_estimates_daily') }}
    {%- if is_incremental() %}
    where metric_date between {{ window.start }} and {{ window.end }}
    {%- endif %}
),

final as (
    select
        cast('user' as {{ type_varchar() }}) as entity_type,
        cast(user_id as {{ type_varchar() }}) as entity_id,
        cast(account_id as {{ type_varchar() }}) as account_id,
        cast(metric_date as date) as as_of_date,
        cast(recommendation_rank as integer) as rank,
        cast(recommendation as {{ type_varchar() }}) as recommendation,
        cast(est_hours_saved_per_week as {{ type_double() }}) as est_hours_saved_per_week,
        cast(estimate_source as {{ type_varchar() }}) as estimate_source,
        cast(employee_band as {{ type_varchar() }}) as employee_band,
        cast(stage as {{ type_varchar() }}) as stage,
        cast(cohort_size as integer) as cohort_size,
        cast(peer_count as integer) as peer_count,
        cast(peer_share_pct as {{ type_double() }}) as peer_share_pct,
        cast(metric as {{ type_varchar() }}) as metric,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(cohort_metric_value as {{ type_double() }}) as cohort_metric_value,
        cast(cta_id as {{ type_varchar() }}) as cta_id,
        cast(app_path as {{ type_varchar() }}) as app_path,
        cast(description as {{ type_varchar() }}) as description
    from estimates
    where recommendation_rank <= {{ rule('recommendations_max_rank') }}
)

select * from final
