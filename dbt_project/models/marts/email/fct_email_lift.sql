-- The e-mails' effect per trigger type, over every trigger with a complete outcome window:
-- treated against holdout triggers (int_email_trigger_outcomes, intention to treat), for each
-- outcome, with Welch's 95% interval and p-value over the holdout's units (accounts by
-- default; macros/welch_test.sql). One row for every locale together (locale 'all') and one
-- per locale; a cell with fewer than min_effect_sample units in either group says 'not
-- enough data' and shows no number.
-- A full table every run: a few rows per trigger type, and its outcomes change for 28 days.

with

trigger_outcomes as (
    select * from {{ ref('int_email_trigger_outcomes') }}
),

-- One row per trigger and outcome with a value (a complete window).
observations as (
    {{- email_outcome_observations('trigger_outcomes', ['trigger_type', 'locale', 'arm', 'unit_id']) }}
),

cells as (
    select
        trigger_type,
        'all' as locale,
        outcome,
        arm,
        unit_id,
        outcome_value
    from observations
    union all
    select
        trigger_type,
        locale,
        outcome,
        arm,
        unit_id,
        outcome_value
    from observations
),

lifts as (
    {{ welch_lift('cells', ['trigger_type', 'locale']) }}
),

final as (
    {%- set double = type_double() %}
    select
        cast(trigger_type as {{ dbt.type_string() }}) as trigger_type,
        cast(locale as {{ dbt.type_string() }}) as locale,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        cast(treated_units as {{ dbt.type_int() }}) as treated_units,
        cast(holdout_units as {{ dbt.type_int() }}) as holdout_units,
        cast(treated_count as {{ dbt.type_int() }}) as treated_count,
        cast(holdout_count as {{ dbt.type_int() }}) as holdout_count,
        cast(treated_mean as {{ double }}) as treated_mean,
        cast(holdout_mean as {{ double }}) as holdout_mean,
        has_enough_data,
        lift,
        lift_std_error,
        lift_ci_low,
        lift_ci_high,
        lift_p_value,
        cast(
            {{ lift_verdict('has_enough_data', 'lift_ci_low', 'lift_ci_high') }} as {{ dbt.type_string() }}
        ) as verdict
    from lifts
)

select * from final
