{#-
    hash_bucket(expr, buckets, salt): a deterministic bucket number in [0, buckets) for the
    text of `expr`, the same on every adapter (and in Python):

        int(md5(salt + ':' + value).hexdigest()[:8], 16) % buckets

    i.e. the first 8 hex digits of the md5 of '<salt>:<value>' read as an unsigned 32-bit
    integer, modulo `buckets`. Changing the salt reshuffles every value. Null in, null out.
    Used for the e-mail holdout (dim_users.is_holdout).
-#}
{% macro hash_bucket(expr, buckets, salt) -%}
    {{ return(adapter.dispatch('hash_bucket', 'flywheel')(expr, buckets, salt)) }}
{%- endmacro %}

{% macro hash_bucket_hex8(expr, salt) -%}
    substr(md5({{ dbt.string_literal(dbt.escape_single_quotes(salt ~ ':')) }} || cast({{ expr }} as {{ dbt.type_string() }})), 1, 8)
{%- endmacro %}

{% macro default__hash_bucket(expr, buckets, salt) -%}
    {{ exceptions.raise_compiler_error("hash_bucket() has no implementation for adapter '" ~ adapter.type() ~ "'") }}
{%- endmacro %}

{#- DuckDB casts '0x...' text to an integer. -#}
{% macro duckdb__hash_bucket(expr, buckets, salt) -%}
    (cast('0x' || {{ hash_bucket_hex8(expr, salt) }} as {{ dbt.type_bigint() }}) % {{ buckets }})
{%- endmacro %}

{#- PostgreSQL: hex text -> bit(32) -> bigint (unsigned, as bit(32) fits in 63 bits). -#}
{% macro postgres__hash_bucket(expr, buckets, salt) -%}
    (cast(cast('x' || {{ hash_bucket_hex8(expr, salt) }} as bit(32)) as bigint) % {{ buckets }})
{%- endmacro %}

{#- Spark: conv() reads the hex digits as an unsigned number, as text. -#}
{% macro spark__hash_bucket(expr, buckets, salt) -%}
    (cast(conv({{ hash_bucket_hex8(expr, salt) }}, 16, 10) as bigint) % {{ buckets }})
{%- endmacro %}
