{#-
    is_in_top_percent(value_rank, cohort_size, top_percent): whether a value of rank
    `value_rank` (rank(), ascending, ties share the lower rank) in a cohort of `cohort_size`
    has a percentile rank (percent_rank() × 100) of at least 100 − `top_percent`. Decided in
    exact arithmetic, (rank − 1) × 100 ≥ (100 − top_percent) × (size − 1), so a value right on
    the cut-off is never lost to the rounding of percent_rank(). Arguments are SQL expressions.
-#}
{% macro is_in_top_percent(value_rank, cohort_size, top_percent) -%}
    ({{ value_rank }} - 1) * 100 >= (100 - {{ top_percent }}) * ({{ cohort_size }} - 1)
{%- endmacro %}
