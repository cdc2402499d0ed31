{#-
    Fails for every row where `expression` is not true (false or null).
    With aggregate=true the expression is an aggregate over the whole model (e.g.
    "count(case when is_default then 1 end) = 1") and the test fails once when it is not true.
-#}
{% test expression_is_true(model, expression, aggregate=false, column_name=none) %}

{%- if aggregate %}

with checked as (
    select ({{ expression }}) as is_true
    from {{ model }}
)

select * from checked
where not coalesce(is_true, false)

{%- else %}

select * from {{ model }}
where not coalesce(({{ expression }}), false)

{%- endif %}

{% endtest %}
