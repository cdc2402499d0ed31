{#-
    The hash bucket in [0, 10000) that picks a user's variant of a trigger type's e-mail
    (int_email_variants gives each variant its range of buckets): hash_bucket of
    '<trigger_type>:<user_id>' salted with var variant_salt. The trigger type is part of the
    hashed text, so the experiments of different trigger types are independent of each other,
    and of the holdout (salt holdout_salt).
-#}
{% macro email_variant_bucket(user_id, trigger_type) -%}
    {{ hash_bucket(dbt.concat([trigger_type, "':'", user_id]), email_variant_buckets(), var('variant_salt')) }}
{%- endmacro %}

{% macro email_variant_buckets() -%}
    {{- return(10000) -}}
{%- endmacro %}
