{#-
    Welch's two-sample t-test, as SQL expressions over the two groups' sizes (n), means and
    sample variances (var_samp). The models pick the columns; the macros only write the
    arithmetic, the same on every adapter (sqrt, power, ln and exp are everywhere):

        std_error = sqrt(var_1 / n_1 + var_2 / n_2)
        df        = std_error^4 / ((var_1 / n_1)^2 / (n_1 - 1) + (var_2 / n_2)^2 / (n_2 - 1))
        95% CI    = (mean_1 - mean_2) ± t_quantile_975(df) * std_error
        p-value   = t_two_sided_p_value(|mean_1 - mean_2| / std_error, df)

    Warehouses have no Student's t distribution, so the two functions of it are approximations
    accurate far beyond the figures a report shows (checked against scipy in
    tests/test_welch_test.py): the quantile within 3e-4 from 5 degrees of freedom on, 1e-7
    from 20; the p-value within 5e-7 from 5 degrees of freedom on.
-#}

{% macro welch_std_error(n_1, var_1, n_2, var_2) -%}
    sqrt({{ var_1 }} / {{ n_1 }} + {{ var_2 }} / {{ n_2 }})
{%- endmacro %}

{#- Welch–Satterthwaite degrees of freedom; null when both variances are 0. -#}
{% macro welch_degrees_of_freedom(n_1, var_1, n_2, var_2) -%}
    power({{ var_1 }} / {{ n_1 }} + {{ var_2 }} / {{ n_2 }}, 2)
    / nullif(
        power({{ var_1 }} / {{ n_1 }}, 2) / ({{ n_1 }} - 1)
        + power({{ var_2 }} / {{ n_2 }}, 2) / ({{ n_2 }} - 1),
        0
    )
{%- endmacro %}

{#-
    The 97.5% quantile of Student's t with `df` degrees of freedom (the half-width of a 95%
    interval in standard errors): the Cornish-Fisher expansion around the normal quantile
    z = 1.959964 to the fourth order in 1/df (Abramowitz & Stegun 26.7.5).
-#}
{% macro t_quantile_975(df) -%}
    {%- set z = 1.959963984540054 -%}
    {%- set g = [
        (z ** 3 + z) / 4,
        (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
        (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
        (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160,
    ] -%}
    ({{ z }}{% for coefficient in g %} + {{ coefficient }} / power({{ df }}, {{ loop.index }}){% endfor %})
{%- endmacro %}

{#-
    The two-sided p-value of |t| = `t_abs` with `df` degrees of freedom: Hill's normalising
    transformation of t (G. W. Hill, Algorithm 395, CACM 1970) to a standard normal z, then
    2 * (1 - Phi(z)) = erfc(z / sqrt 2) by Abramowitz & Stegun 7.1.26.
-#}
{% macro t_two_sided_p_value(t_abs, df) -%}
    {%- set a = '(' ~ df ~ ' - 0.5)' -%}
    {%- set b = '(48 * power(' ~ a ~ ', 2))' -%}
    {%- set w = 'sqrt(' ~ a ~ ' * ln(1 + power(' ~ t_abs ~ ', 2) / ' ~ df ~ '))' -%}
    {%- set z -%}
        ({{ w }} + (power({{ w }}, 3) + 3 * {{ w }}) / {{ b }}
        - (4 * power({{ w }}, 7) + 33 * power({{ w }}, 5) + 240 * power({{ w }}, 3) + 855 * {{ w }})
        / (10 * {{ b }} * ({{ b }} + 0.8 * power({{ w }}, 4) + 100)))
    {%- endset -%}
    {{ erfc_nonnegative('(' ~ z ~ ' / sqrt(2))') }}
{%- endmacro %}

{#- erfc(x) for x >= 0 (Abramowitz & Stegun 7.1.26, error below 1.5e-7). -#}
{% macro erfc_nonnegative(x) -%}
    {%- set t = '(1 / (1 + 0.3275911 * ' ~ x ~ '))' -%}
    ((((((1.061405429 * {{ t }} - 1.453152027) * {{ t }}) + 1.421413741) * {{ t }} - 0.284496736) * {{ t }} + 0.254829592)
    * {{ t }} * exp(-1 * power({{ x }}, 2)))
{%- endmacro %}

{#-
    The columns of a lift and its test: `<name>` (the difference of the means), `<name>_ci_low`
    and `<name>_ci_high` (its 95% interval) and `<name>_p_value`, all null unless
    `has_enough_data`. With a standard error of 0 (no variation in either group) the interval
    is the difference itself and the p-value 1 if it is 0, else 0.
-#}
{% macro lift_test_columns(name, difference, std_error, df, has_enough_data) -%}
    {%- set double = type_double() -%}
    {%- set margin = 'case when ' ~ std_error ~ ' = 0 then 0 else ' ~ t_quantile_975(df) ~ ' * ' ~ std_error ~ ' end' -%}
    cast(case when {{ has_enough_data }} then {{ difference }} end as {{ double }}) as {{ name }},
    cast(case when {{ has_enough_data }} then {{ difference }} - ({{ margin }}) end as {{ double }}) as {{ name }}_ci_low,
    cast(case when {{ has_enough_data }} then {{ difference }} + ({{ margin }}) end as {{ double }}) as {{ name }}_ci_high,
    cast(
        case
            when not {{ has_enough_data }} then null
            when {{ std_error }} = 0 then case when {{ difference }} = 0 then 1 else 0 end
            else {{ t_two_sided_p_value('abs(' ~ difference ~ ') / ' ~ std_error, df) }}
        end as {{ double }}
    ) as {{ name }}_p_value
{%- endmacro %}

{#-
    welch_lift(observations, cells, arms): the lift of each cell and outcome, the first of
    `arms` against the second (default: treated against holdout), as a select over the
    relation or CTE `observations`, which has the `cells` columns and: outcome (its name), arm
    (one of `arms`), unit_id (the unit of randomisation: for the holdout an account or a user,
    int_email_trigger_outcomes) and outcome_value (one trigger's value). The columns of each
    arm are named after it: `<arm>_units`, `<arm>_count`, `<arm>_mean`.

    The holdout is drawn by unit, and a unit's triggers resemble each other (one account's
    users, one user's triggers), so the test counts units, not triggers: each arm's mean is
    the mean over its triggers (sum / count), and its variance is that of a ratio of unit
    totals (the delta method, as for any metric randomised by a larger unit):

        var(mean) = var_samp(Y_i - mean * N_i) / (k * Nbar^2)

    over the arm's k units, with Y_i and N_i unit i's total and triggers and Nbar their
    mean. Welch's test then takes k as the sample size and var_samp(...) / Nbar^2 as the
    variance; with one trigger per unit it is Welch's test on the triggers. A cell with
    fewer than the rule min_effect_sample units in either arm has no lift.
-#}
{% macro welch_lift(observations, cells, arms=['treated', 'holdout']) -%}
    {%- set first, second = arms -%}
    {%- set cell_list = cells | join(', ') -%}
    {%- set cell_match = [] -%}
    {%- for cell in cells + ['outcome', 'arm'] -%}
        {%- do cell_match.append('units.' ~ cell ~ ' = arm_means.' ~ cell) -%}
    {%- endfor -%}
    with

    units as (
        select
            {{ cell_list }},
            outcome,
            arm,
            unit_id,
            count(*) as triggers,
            sum(outcome_value) as outcome_total
        from {{ observations }}
        group by {{ cell_list }}, outcome, arm, unit_id
    ),

    arm_means as (
        select
            {{ cell_list }},
            outcome,
            arm,
            count(*) as units,
            sum(triggers) as triggers,
            cast(sum(outcome_total) as {{ type_double() }}) / sum(triggers) as outcome_mean,
            cast(sum(triggers) as {{ type_double() }}) / count(*) as triggers_per_unit
        from units
        group by {{ cell_list }}, outcome, arm
    ),

    arm_stats as (
        select
            {%- for cell in cells + ['outcome', 'arm'] %}
            arm_means.{{ cell }},
            {%- endfor %}
            arm_means.units,
            arm_means.triggers,
            arm_means.outcome_mean,
            var_samp(units.outcome_total - arm_means.outcome_mean * units.triggers)
            / power(arm_means.triggers_per_unit, 2) as unit_variance
        from units
        inner join arm_means
            on {{ cell_match | join(' and ') }}
        group by
            {%- for cell in cells + ['outcome', 'arm'] %}
            arm_means.{{ cell }},
            {%- endfor %}
            arm_means.units,
            arm_means.triggers,
            arm_means.outcome_mean,
            arm_means.triggers_per_unit
    ),

    arms as (
        select
            {{ cell_list }},
            outcome,
            {%- for arm in arms %}
            coalesce(sum(case when arm = '{{ arm }}' then units end), 0) as {{ arm }}_units,
            coalesce(sum(case when arm = '{{ arm }}' then triggers end), 0) as {{ arm }}_count,
            max(case when arm = '{{ arm }}' then outcome_mean end) as {{ arm }}_mean,
            max(case when arm = '{{ arm }}' then unit_variance end) as {{ arm }}_variance{{ ',' if not loop.last }}
            {%- endfor %}
        from arm_stats
        group by {{ cell_list }}, outcome
    ),

    welch as (
        select
            *,
            {{ first }}_units >= {{ rule('min_effect_sample') }} and {{ second }}_units >= {{ rule('min_effect_sample') }}
                as has_enough_data,
            {{ welch_std_error(first ~ '_units', first ~ '_variance', second ~ '_units', second ~ '_variance') }} as std_error,
            {{ welch_degrees_of_freedom(first ~ '_units', first ~ '_variance', second ~ '_units', second ~ '_variance') }}
                as degrees_of_freedom
        from arms
    )

    select
        {{ cell_list }},
        outcome,
        {{ first }}_units,
        {{ second }}_units,
        {{ first }}_count,
        {{ second }}_count,
        {{ first }}_mean,
        {{ second }}_mean,
        has_enough_data,
        cast(case when has_enough_data then std_error end as {{ type_double() }}) as lift_std_error,
        {{ lift_test_columns('lift', first ~ '_mean - ' ~ second ~ '_mean', 'std_error', 'degrees_of_freedom', 'has_enough_data') }}
    from welch
{%- endmacro %}
