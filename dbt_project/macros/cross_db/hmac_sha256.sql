{#-
    hmac_sha256(message, key_hex): HMAC-SHA256 (RFC 2104) of the text `message`, as UTF-8,
    under the key given as hex text; 64 lower-case hex digits, the same on every adapter
    and in Python:

        hmac.new(bytes.fromhex(key_hex), message.encode('utf-8'), hashlib.sha256).hexdigest()

    Null message: null. DuckDB has no HMAC function; PostgreSQL has one in the pgcrypto
    extension, which needs the right to create it and a schema on the search path. Both
    have sha256() over bytes, so the HMAC is built from it, the same way on both:

        K'   = the key, zero-padded to the 64-byte block (a longer key: its sha256 first)
        HMAC = sha256((K' xor 0x5c5c...) || sha256((K' xor 0x3636...) || message))

    The xor runs on the key's 128 hex digits, 16 at a time (a 64-bit integer). Checked
    against Python's hmac on both adapters (tests/test_email_hash.py, tests/test_postgres.py).
-#}
{% macro hmac_sha256(message, key_hex) -%}
    {{ return(adapter.dispatch('hmac_sha256', 'flywheel')(message, key_hex)) }}
{%- endmacro %}

{% macro default__hmac_sha256(message, key_hex) -%}
    {{ exceptions.raise_compiler_error("hmac_sha256() has no implementation for adapter '" ~ adapter.type() ~ "'") }}
{%- endmacro %}

{#- K' xor (64 times the byte `pad_byte`, two hex digits), as 128 hex digits. -#}
{% macro hmac_padded_key_hex(block_key_hex, pad_byte) -%}
    {%- for word in range(8) %}
    {{ "|| " if not loop.first }}lpad({{ adapter.dispatch('hmac_xor_hex16', 'flywheel')('substr(' ~ block_key_hex ~ ', ' ~ (16 * word + 1) ~ ', 16)', pad_byte * 8) }}, 16, '0')
    {%- endfor %}
{%- endmacro %}

{#- hex16_expr xor the 16 hex digits `hex16_literal`, in hex (leading zeros dropped). -#}
{% macro duckdb__hmac_xor_hex16(hex16_expr, hex16_literal) -%}
    to_hex(xor(cast('0x' || {{ hex16_expr }} as ubigint), cast('0x{{ hex16_literal }}' as ubigint)))
{%- endmacro %}

{#- bit(64) xor, read back as a bigint: to_hex writes a negative one as 16 hex digits. -#}
{% macro postgres__hmac_xor_hex16(hex16_expr, hex16_literal) -%}
    to_hex(cast(cast('x' || {{ hex16_expr }} as bit(64)) # cast(x'{{ hex16_literal }}' as bit(64)) as bigint))
{%- endmacro %}

{#- Spark: conv() to base -10 reads 16 hex digits as a signed 64-bit integer; hex() writes a
    negative one as 16 hex digits. -#}
{% macro spark__hmac_xor_hex16(hex16_expr, hex16_literal) -%}
    hex(cast(conv({{ hex16_expr }}, 16, -10) as bigint) ^ cast(conv('{{ hex16_literal }}', 16, -10) as bigint))
{%- endmacro %}

{% macro duckdb__hmac_sha256(message, key_hex) -%}
    {%- set block_key_hex -%}
        rpad(case when length({{ key_hex }}) > 128 then sha256(unhex({{ key_hex }})) else {{ key_hex }} end, 128, '0')
    {%- endset -%}
    sha256(
        unhex({{ hmac_padded_key_hex(block_key_hex, '5c') }})
        || unhex(sha256(
            unhex({{ hmac_padded_key_hex(block_key_hex, '36') }})
            || encode({{ message }})
        ))
    )
{%- endmacro %}

{#-
    The padded keys are scalar subqueries: with a constant key PostgreSQL computes them once
    per query, not once per row (1M rows: 4 s, as md5; inline, 100 s).
-#}
{% macro postgres__hmac_sha256(message, key_hex) -%}
    {%- set block_key_hex -%}
        rpad(case when length({{ key_hex }}) > 128 then encode(sha256(decode({{ key_hex }}, 'hex')), 'hex') else {{ key_hex }} end, 128, '0')
    {%- endset -%}
    encode(sha256(
        (select decode({{ hmac_padded_key_hex(block_key_hex, '5c') }}, 'hex'))
        || sha256(
            (select decode({{ hmac_padded_key_hex(block_key_hex, '36') }}, 'hex'))
            || convert_to({{ message }}, 'UTF8')
        )
    ), 'hex')
{%- endmacro %}

{% macro spark__hmac_sha256(message, key_hex) -%}
    {%- set block_key_hex -%}
        rpad(case when length({{ key_hex }}) > 128 then sha2(unhex({{ key_hex }}), 256) else {{ key_hex }} end, 128, '0')
    {%- endset -%}
    sha2(concat(
        unhex({{ hmac_padded_key_hex(block_key_hex, '5c') }}),
        unhex(sha2(concat(
            unhex({{ hmac_padded_key_hex(block_key_hex, '36') }}),
            encode({{ message }}, 'UTF-8')
        ), 256))
    ), 256)
{%- endmacro %}
