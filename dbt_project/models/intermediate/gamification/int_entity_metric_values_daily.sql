-- The metrics of int_entity_metrics_daily unpivoted into one row per entity, day and metric,
-- so that seed-driven rules (ladder levels, badges) join their `metric` column here instead
-- of repeating SQL per metric. Booleans become 1 (true) or 0 (false); values are 8-byte
-- floats (type_double()). The metric list lives in macros/gamification_metrics.sql.

with

entity_metrics as (
    select * from {{ ref('int_entity_metrics_daily') }}
),

metric_names as (
    {%- for metric in gamification_metrics() %}
    select '{{ metric }}' as metric
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

unpivoted as (
    select
        entity_metrics.entity_type,
        entity_metrics.entity_id,
        entity_metrics.account_id,
        entity_metrics.metric_date,
        metric_names.metric,
        cast(case metric_names.metric
            {%- for metric in gamification_numeric_metrics() %}
            when '{{ metric }}' then entity_metrics.{{ metric }}
            {%- endfor %}
            {%- for metric in gamification_boolean_metrics() %}
            when '{{ metric }}' then case when entity_metrics.{{ metric }} then 1 else 0 end
            {%- endfor %}
        end as {{ type_double() }}) as metric_value
    from entity_metrics
    cross join metric_names
),

final as (
    select
        entity_type,
        entity_id,
        account_id,
        metric_date,
        metric,
        metric_value
    from unpivoted
)

select * from final
