{{
    config(
        materialized='incremental',
        unique_key='month',
        meta={'window_column': 'month', 'window_grain': 'month'},
    )
}}
-- One row per account, calendar month and metric: the account against its peer cohort, with
-- the anonymity rule. The cohort of a month is chosen per employee band, from the accounts
-- that existed at the start of the month (int_account_benchmark_values):
--   1. size_band:    the accounts of the account's own band, when there are at least
--                    `min_cohort_size` of them;
--   2. similar_size: else the own band plus its adjacent band(s) (seed employee_bands,
--                    sort_order +/- 1), when together they have at least `min_cohort_size`;
--   3. all_accounts: else every account.
-- A cohort still under `min_cohort_size` publishes nothing (is_published false, figures null).
-- Version 2 of the model (fct_cohort_benchmarks_v1.sql derives version 1 from it).
-- Incremental (macros/incremental.sql): cohorts and ranks are per month, so a run rebuilds
-- whole months, from the month of window_start; nothing is carried. unique_key `month`: the
-- rebuilt months replace every stored row of theirs.
{%- if is_incremental() %}
{%- set window = incremental_window('month') %}
{%- set first_month = 'cast(' ~ dbt.date_trunc('month', window.start) ~ ' as date)' %}
{%- endif %}

with

benchmark_values as (
    select * from {{ ref('int_account_benchmark_values') }}
    {%- if is_incremental() %}
    where month >= {{ first_month }}
    {%- endif %}
),

employee_bands as (
    select * from {{ ref('employee_bands') }}
),

band_sizes as (
    select
        benchmark_values.month,
        benchmark_values.metric,
        benchmark_values.employee_band,
        employee_bands.sort_order,
        count(*) as band_accounts
    from benchmark_values
    inner join employee_bands
        on benchmark_values.employee_band = employee_bands.employee_band
    group by
        benchmark_values.month,
        benchmark_values.metric,
        benchmark_values.employee_band,
        employee_bands.sort_order
),

cohort_choices as (
    -- one row per month, metric and band: which scope its cohort takes
    select
        own_band.month,
        own_band.metric,
        own_band.employee_band,
        own_band.sort_order,
        own_band.band_accounts,
        sum(
            case when abs(other_band.sort_order - own_band.sort_order) <= 1 then other_band.band_accounts else 0 end
        ) as similar_size_accounts
    from band_sizes as own_band
    inner join band_sizes as other_band
        on
            own_band.month = other_band.month
            and own_band.metric = other_band.metric
    group by
        own_band.month,
        own_band.metric,
        own_band.employee_band,
        own_band.sort_order,
        own_band.band_accounts
),

cohort_scopes as (
    select
        *,
        case
            when band_accounts >= {{ rule('min_cohort_size') }} then 'size_band'
            when similar_size_accounts >= {{ rule('min_cohort_size') }} then 'similar_size'
            else 'all_accounts'
        end as cohort_scope
    from cohort_choices
),

cohort_member_bands as (
    -- the bands whose accounts make up the cohort of each month, metric and band
    select
        cohort_scopes.month,
        cohort_scopes.metric,
        cohort_scopes.employee_band as cohort_band,
        cohort_scopes.cohort_scope,
        member_band.employee_band as member_band
    from cohort_scopes
    inner join band_sizes as member_band
        on
            cohort_scopes.month = member_band.month
            and cohort_scopes.metric = member_band.metric
            and (
                cohort_scopes.cohort_scope = 'all_accounts'
                or (
                    cohort_scopes.cohort_scope = 'similar_size'
                    and abs(cohort_scopes.sort_order - member_band.sort_order) <= 1
                )
                or cohort_scopes.employee_band = member_band.employee_band
            )
),

cohort_members as (
    -- every member value once per cohort it belongs to
    select
        cohort_member_bands.cohort_band,
        cohort_member_bands.cohort_scope,
        benchmark_values.account_id,
        benchmark_values.employee_band,
        benchmark_values.month,
        benchmark_values.metric,
        benchmark_values.value
    from cohort_member_bands
    inner join benchmark_values
        on
            cohort_member_bands.month = benchmark_values.month
            and cohort_member_bands.metric = benchmark_values.metric
            and cohort_member_bands.member_band = benchmark_values.employee_band
),

ranked as (
    select
        *,
        count(*) over cohort as cohort_size,
        avg(value) over cohort as cohort_mean,
        -- ties share the lower rank
        rank() over cohort_by_value as value_rank,
        percent_rank() over cohort_by_value as value_percent_rank
    from cohort_members
    window
        cohort as (partition by cohort_band, month, metric),
        cohort_by_value as (partition by cohort_band, month, metric order by value)
),

own_rows as (
    -- each account keeps the row of its own band's cohort
    select
        *,
        cohort_size >= {{ rule('min_cohort_size') }} as is_published
    from ranked
    where employee_band = cohort_band
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        month,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(value as {{ type_double() }}) as value,
        cast(employee_band as {{ dbt.type_string() }}) as employee_band,
        cast(cohort_scope as {{ dbt.type_string() }}) as cohort_scope,
        cast(cohort_size as {{ dbt.type_int() }}) as cohort_size,
        is_published,
        cast(case when is_published then cohort_mean end as {{ type_double() }}) as cohort_avg,
        cast(
            case
                when is_published and cohort_mean <> 0
                    then (value - cohort_mean) / cohort_mean * 100
            end as {{ type_double() }}
        ) as pct_vs_cohort_avg,
        cast(case when is_published then value_percent_rank * 100 end as {{ type_double() }}) as percentile_rank,
        case
            when is_published then {{ is_in_top_percent('value_rank', 'cohort_size', rule('top_percent')) }}
        end as is_top_percent,
        cast({{ rule('top_percent') }} as {{ type_double() }}) as top_percent
    from own_rows
)

select * from final
