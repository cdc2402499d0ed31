{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['entity_id', 'as_of_date', 'rank'],
        on_schema_change='fail',
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

with

estimates as (
    select * from {{ ref('int_recommendation_estimates_daily') }}
),

{% if is_incremental() %}

rules as (
    select * from {{ ref('int_recommendation_rules_daily') }}
),

{{ incremental_window_cte('as_of_date') }},

-- users loaded late (int_recommendation_rules_daily): a recommendation applied to them the
-- day before the window, but they have no row that day. The window moves back to their first
-- day, since the peers of their band and stage change on those days for everyone.
late_users as (
    select distinct rules.user_id
    from rules
    inner join incremental_window
        on rules.metric_date = cast({{ dbt.dateadd('day', -1, 'incremental_window.window_start') }} as date)
    left join {{ this }} as this_table
        on
            rules.user_id = this_table.entity_id
            and rules.metric_date = this_table.as_of_date
    where rules.is_candidate and this_table.entity_id is null
),

late_start as (
    select min(rules.metric_date) as first_day
    from rules
    inner join late_users
        on rules.user_id = late_users.user_id
),

estimates_to_build as (
    select estimates.*
    from estimates
    cross join incremental_window
    cross join late_start
    where
        estimates.metric_date
        between least(incremental_window.window_start, coalesce(late_start.first_day, incremental_window.window_start))
        and incremental_window.window_end
),

{% else %}

estimates_to_build as (
    select * from estimates
),

{% endif %}

final as (
    select
        cast('user' as varchar) as entity_type,
        cast(user_id as varchar) as entity_id,
        cast(account_id as varchar) as account_id,
        cast(metric_date as date) as as_of_date,
        cast(recommendation_rank as integer) as rank,
        cast(recommendation as varchar) as recommendation,
        cast(est_hours_saved_per_week as {{ type_double() }}) as est_hours_saved_per_week,
        cast(estimate_source as varchar) as estimate_source,
        cast(employee_band as varchar) as employee_band,
        cast(stage as varchar) as stage,
        cast(cohort_size as integer) as cohort_size,
        cast(peer_count as integer) as peer_count,
        cast(peer_share_pct as {{ type_double() }}) as peer_share_pct,
        cast(metric as varchar) as metric,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(cohort_metric_value as {{ type_double() }}) as cohort_metric_value,
        cast(cta_id as varchar) as cta_id,
        cast(app_path as varchar) as app_path,
        cast(description as varchar) as description
    from estimates_to_build
    where recommendation_rank <= {{ rule('recommendations_max_rank') }}
)

select * from final
