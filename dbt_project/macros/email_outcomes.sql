{#- The outcomes of the e-mails' experiment: columns of int_email_trigger_outcomes, a number per trigger. -#}
{% macro email_outcomes() -%}
    {{- return([
        'active_days_7d', 'active_days_28d', 'retained_28d', 'stage_progressed_28d',
        'account_seats_and_invites_28d', 'cta_clicked_7d',
    ]) -}}
{%- endmacro %}

{#-
    email_outcome_observations(relation, columns): one row per trigger of `relation` (an
    int_email_trigger_outcomes) and outcome with a value (a complete window): the `columns`,
    outcome (its name) and outcome_value, the shape welch_lift reads.
-#}
{% macro email_outcome_observations(relation, columns) -%}
    {%- for outcome in email_outcomes() %}
    select
        {{ columns | join(',\n        ') }},
        '{{ outcome }}' as outcome,
        cast({{ outcome }} as {{ type_double() }}) as outcome_value
    from {{ relation }}
    where {{ outcome }} is not null
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A lift in words from its 95% interval (fct_email_lift, fct_email_variant_lift). -#}
{% macro lift_verdict(has_enough_data, ci_low, ci_high) -%}
    case
        when not {{ has_enough_data }} then 'not enough data'
        when {{ ci_low }} > 0 then 'higher'
        when {{ ci_high }} < 0 then 'lower'
        else 'no clear difference'
    end
{%- endmacro %}
