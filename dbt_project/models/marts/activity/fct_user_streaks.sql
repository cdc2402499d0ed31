{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'as_of_date'],
        meta={'window_column': 'as_of_date'},
    )
}}
-- One row per user and day of the user's history (as_of_date): the current streak, when it
-- started, the longest streak so far and the last active day. Rules: see the model docs.
-- Incremental (macros/incremental.sql): a projection of int_user_metrics_daily, which carries
-- the streaks; a run copies the days of its window, and every day of a user with no row the
-- day before the window although started earlier (loaded late).
{%- if is_incremental() %}
{%- set window = incremental_window('as_of_date') %}
{%- endif %}

with

user_metrics as (
    select * from {{ ref('int_user_metrics_daily') }}
),

{% if is_incremental() %}

anchors as (
    select user_id from {{ this }}
    where as_of_date = {{ window.anchor_day }}
),

metrics_to_build as (
    {{ incremental_rows(
        'user_metrics', 'metric_date', window, 'user_id',
        incremental_unanchored('user_metrics', 'user_id', 'metric_date', window),
    ) }}
),

{% else %}

metrics_to_build as (
    select * from user_metrics
),

{% endif %}

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        metric_date as as_of_date,
        is_active,
        current_streak_days,
        -- a live streak ends on the last active day (as_of_date or the day before)
        case
            when current_streak_days > 0
                then cast({{ dbt.dateadd('day', '1 - current_streak_days', 'last_active_date') }} as date)
        end as current_streak_start_date,
        longest_streak_days,
        last_active_date,
        days_since_last_active
    from metrics_to_build
)

select * from final
