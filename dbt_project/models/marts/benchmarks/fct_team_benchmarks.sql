{{
    config(
        materialized='incremental',
        unique_key='month',
        meta={'window_column': 'month', 'window_grain': 'month'},
    )
}}
-- One row per user, local calendar month and metric: the user's count against the mean of
-- the OTHER users of the same account who were active that month. Published only when there
-- are at least `min_team_size` of them: a smaller group would let the user read a
-- colleague's activity (team_avg and pct_vs_team_avg are null below it).
-- Incremental (macros/incremental.sql): teams are compared per month, so a run rebuilds whole
-- months, from the month of window_start; nothing is carried. unique_key `month`: the
-- rebuilt months replace every stored row of theirs.

{%- set metrics = ['tasks_completed', 'workflows_completed', 'reports_generated', 'minutes_saved', 'active_days'] %}
{%- if is_incremental() %}
{%- set window = incremental_window('month') %}
{%- set first_month = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- endif %}

with

user_months as (
    select * from {{ ref('int_user_activity_monthly') }}
    {%- if is_incremental() %}
    where month >= {{ first_month }}
    {%- endif %}
),

user_values as (
    {%- for metric in metrics %}
    select
        user_id,
        account_id,
        month,
        '{{ metric }}' as metric,
        cast({{ metric }} as {{ type_double() }}) as value,
        active_days > 0 as is_active_in_month
    from user_months
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

team_totals as (
    select
        *,
        sum(case when is_active_in_month then value else 0 end) over team as active_users_value,
        sum(case when is_active_in_month then 1 else 0 end) over team as active_users
    from user_values
    window team as (partition by account_id, month, metric)
),

others as (
    -- the team without the user: subtract the user's own value when they were active
    select
        *,
        active_users - case when is_active_in_month then 1 else 0 end as other_active_users,
        active_users_value - case when is_active_in_month then value else 0 end as other_users_value
    from team_totals
),

published as (
    select
        *,
        other_active_users >= {{ rule('min_team_size') }} as is_published
    from others
),

team_averages as (
    select
        *,
        case
            when is_published and other_active_users > 0
                then other_users_value / other_active_users
        end as team_avg
    from published
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        month,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(value as {{ type_double() }}) as value,
        is_active_in_month,
        cast(other_active_users as {{ dbt.type_int() }}) as other_active_users,
        is_published,
        cast(team_avg as {{ type_double() }}) as team_avg,
        cast(
            case when team_avg <> 0 then (value - team_avg) / team_avg * 100 end as {{ type_double() }}
        ) as pct_vs_team_avg
    from team_averages
)

select * from final
