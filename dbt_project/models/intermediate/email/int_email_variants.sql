-- One row per trigger type and variant of its e-mail (seed email_variants; a trigger type the
-- seed does not list has one variant, `control`, its own template), with the hash buckets it
-- takes: a user whose email_variant_bucket is in [bucket_from, bucket_to) gets it. The
-- variants share the buckets in proportion to their weights, in the order of their ids.

{%- set buckets = email_variant_buckets() %}

with

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

email_variants as (
    select * from {{ ref('email_variants') }}
),

variants as (
    select
        trigger_type,
        variant_id,
        weight,
        case when template <> '' then template end as template
    from email_variants
    union all
    select
        trigger_type,
        'control' as variant_id,
        1 as weight,
        null as template
    from trigger_priorities
    where trigger_type not in (select email_variants.trigger_type from email_variants)
),

shares as (
    select
        *,
        sum(weight) over (
            partition by trigger_type
            order by variant_id
            rows between unbounded preceding and current row
        ) as cumulative_weight,
        sum(weight) over (partition by trigger_type) as total_weight,
        count(*) over (partition by trigger_type) as variants_of_trigger
    from variants
),

final as (
    select
        trigger_type,
        variant_id,
        cast(template as {{ dbt.type_string() }}) as template,
        weight,
        cast(variants_of_trigger as integer) as variants_of_trigger,
        cast(floor((cumulative_weight - weight) * {{ buckets }} / total_weight) as integer) as bucket_from,
        cast(floor(cumulative_weight * {{ buckets }} / total_weight) as integer) as bucket_to
    from shares
)

select * from final
