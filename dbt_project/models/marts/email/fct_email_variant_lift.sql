-- The A/B tests of the e-mails: for each trigger type with more than one variant (seed
-- email_variants), each variant against the holdout and against each other variant, per
-- outcome, with Welch's 95% interval and p-value (macros/welch_test.sql), for every locale
-- together (locale 'all') and per locale. Intention to treat, as fct_email_lift: a variant's
-- triggers are every treated trigger of its users, sent or not.
-- Units: against the holdout, the holdout's unit (var holdout_unit) on both sides; against
-- another variant, the user, the unit variants are drawn by (macros/email_variant_bucket.sql).
-- A full table every run: a few rows per variant, and its outcomes change for 28 days.

with

trigger_outcomes as (
    select * from {{ ref('int_email_trigger_outcomes') }}
),

variants as (
    select * from {{ ref('int_email_variants') }}
    where variants_of_trigger > 1
),

-- a second reading of the variants: the one each variant is compared with
other_variants as (
    select * from {{ ref('int_email_variants') }}
    where variants_of_trigger > 1
),

experiment_outcomes as (
    select * from trigger_outcomes
    where trigger_type in (select variants.trigger_type from variants)
),

-- One row per trigger and outcome with a value (a complete window).
observations as (
    {{- email_outcome_observations(
        'experiment_outcomes', ['trigger_type', 'locale', 'arm', 'variant_id', 'unit_id', 'user_id']
    ) }}
),

by_locale as (
    select
        trigger_type,
        'all' as locale,
        arm,
        variant_id,
        unit_id,
        user_id,
        outcome,
        outcome_value
    from observations
    union all
    select
        trigger_type,
        locale,
        arm,
        variant_id,
        unit_id,
        user_id,
        outcome,
        outcome_value
    from observations
),

-- welch_lift's arms: 'variant' (the variant's treated triggers) and 'compared' (the
-- holdout's triggers, whatever variant they would have had, or another variant's treated
-- triggers).
cells as (
    select
        by_locale.trigger_type,
        by_locale.locale,
        variants.variant_id,
        'holdout' as compared_with,
        by_locale.outcome,
        case when by_locale.arm = 'holdout' then 'compared' else 'variant' end as arm,
        by_locale.unit_id,
        by_locale.outcome_value
    from by_locale
    inner join variants
        on by_locale.trigger_type = variants.trigger_type
    where
        by_locale.arm = 'holdout'
        or by_locale.variant_id = variants.variant_id
    union all
    select
        by_locale.trigger_type,
        by_locale.locale,
        variants.variant_id,
        other_variants.variant_id as compared_with,
        by_locale.outcome,
        case when by_locale.variant_id = variants.variant_id then 'variant' else 'compared' end as arm,
        by_locale.user_id as unit_id,
        by_locale.outcome_value
    from by_locale
    inner join variants
        on by_locale.trigger_type = variants.trigger_type
    inner join other_variants
        on
            variants.trigger_type = other_variants.trigger_type
            and variants.variant_id <> other_variants.variant_id
    where
        by_locale.arm = 'treated'
        and by_locale.variant_id in (variants.variant_id, other_variants.variant_id)
),

lifts as (
    {{ welch_lift('cells', ['trigger_type', 'locale', 'variant_id', 'compared_with'], ['variant', 'compared']) }}
),

final as (
    {%- set double = type_double() %}
    select
        cast(trigger_type as {{ dbt.type_string() }}) as trigger_type,
        cast(locale as {{ dbt.type_string() }}) as locale,
        cast(variant_id as {{ dbt.type_string() }}) as variant_id,
        cast(compared_with as {{ dbt.type_string() }}) as compared_with,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        cast(variant_units as {{ dbt.type_int() }}) as variant_units,
        cast(compared_units as {{ dbt.type_int() }}) as compared_units,
        cast(variant_count as {{ dbt.type_int() }}) as variant_count,
        cast(compared_count as {{ dbt.type_int() }}) as compared_count,
        cast(variant_mean as {{ double }}) as variant_mean,
        cast(compared_mean as {{ double }}) as compared_mean,
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
