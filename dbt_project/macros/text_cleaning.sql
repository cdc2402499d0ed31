{#- Text helpers for raw VARCHAR columns; plain SQL, the same on every adapter. -#}

{#- Trimmed text, with blank turned into null. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- An e-mail address as we compare it: trimmed and lower-cased; blank is null. -#}
{% macro normalize_email(expr) -%}
    lower(nullif(trim({{ expr }}), ''))
{%- endmacro %}

{#-
    True when a (normalised) e-mail address looks deliverable: one '@', no white space, a
    domain with at least one dot and no empty label. Null in, false out.
-#}
{% macro is_valid_email(expr) -%}
    coalesce({{ regexp_full_match(expr, '[^@[:space:]]+@[^@[:space:].]+([.][^@[:space:].]+)+') }}, false)
{%- endmacro %}

{#-
    A boolean from text ('true'/'false', 't'/'f', 'yes'/'no', 'y'/'n', '1'/'0', any case);
    anything else is null.
-#}
{% macro parse_boolean(expr) -%}
    case
        when lower(trim({{ expr }})) in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim({{ expr }})) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}

{#-
    A non-negative whole number from text ('12', ' 12 ', '12.0' as written by tools that
    store integers with nulls as floats); anything else (negative, fractional, text, more
    than 18 digits) is null. Regex-validated, so the cast can never fail.
-#}
{% macro parse_non_negative_integer(expr) -%}
    case
        when {{ regexp_full_match('trim(' ~ expr ~ ')', '[0-9]{1,18}([.]0*)?') }}
            then cast({{ dbt.split_part('trim(' ~ expr ~ ')', "'.'", 1) }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{#-
    A number from text (JSON numbers, '3', '-2.5', '1e3'); anything else is null.
    The exponent is capped at two digits so the cast can never overflow.
-#}
{% macro parse_number(expr) -%}
    case
        when {{ regexp_full_match('trim(' ~ expr ~ ')', '[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,2})?') }}
            then cast(trim({{ expr }}) as {{ dbt.type_float() }})
    end
{%- endmacro %}
