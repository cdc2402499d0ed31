{#-
    JSON helpers. JSON travels between models as text (the same type on every adapter).

    json_object_text(expr): the normalised JSON text of `expr` when it is a JSON object,
    else null (invalid JSON, arrays, scalars and null all give null). Never raises.
-#}
{% macro json_object_text(expr) -%}
    {{ return(adapter.dispatch('json_object_text', 'flywheel')(expr)) }}
{%- endmacro %}

{% macro duckdb__json_object_text(expr) -%}
    case
        when json_valid({{ expr }})
            then case when json_type(json({{ expr }})) = 'OBJECT' then cast(json({{ expr }}) as varchar) end
    end
{%- endmacro %}

{#- flywheel_try_jsonb() comes from create_udfs(): null instead of an error. -#}
{% macro postgres__json_object_text(expr) -%}
    case
        when jsonb_typeof({{ target.schema }}.flywheel_try_jsonb({{ expr }})) = 'object'
            then cast({{ target.schema }}.flywheel_try_jsonb({{ expr }}) as text)
    end
{%- endmacro %}

{#- Spark: a VARIANT (try_parse_json is null for invalid JSON) written back as compact JSON. -#}
{% macro spark__json_object_text(expr) -%}
    case
        when schema_of_variant(try_parse_json({{ expr }})) like 'OBJECT%'
            then to_json(try_parse_json({{ expr }}))
    end
{%- endmacro %}

{#-
    json_extract_text(json_text_expr, key): the value of a top-level key of a JSON object
    held as text, as text (strings unquoted, numbers and booleans as written, objects as
    JSON). Missing key: null. Only call it on text that json_object_text() accepted.
-#}
{% macro json_extract_text(json_text_expr, key) -%}
    {{ return(adapter.dispatch('json_extract_text', 'flywheel')(json_text_expr, key)) }}
{%- endmacro %}

{% macro duckdb__json_extract_text(json_text_expr, key) -%}
    json_extract_string({{ json_text_expr }}, '$."{{ key }}"')
{%- endmacro %}

{% macro postgres__json_extract_text(json_text_expr, key) -%}
    (cast({{ json_text_expr }} as jsonb) ->> '{{ key }}')
{%- endmacro %}

{% macro spark__json_extract_text(json_text_expr, key) -%}
    get_json_object({{ json_text_expr }}, '$.{{ key }}')
{%- endmacro %}

{#-
    json_object_from_columns(columns): a JSON object as text, one key per column name (in
    order), the column's value as value (null stays JSON null). Used for `raw_payload`.
    An item may also be a (key, SQL expression) pair, e.g. ('email_hash', email_hash('email'))
    in `redacted_payload`.
-#}
{% macro json_object_from_columns(columns) -%}
    {{ return(adapter.dispatch('json_object_from_columns', 'flywheel')(columns)) }}
{%- endmacro %}

{% macro duckdb__json_object_from_columns(columns) -%}
    cast(json_object(
        {%- for column in columns %}
        {%- set key, expr = (column, adapter.quote(column)) if column is string else column %}
        '{{ key }}', {{ expr }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#-
    PostgreSQL's json_build_object writes '{"a" : 1}' and jsonb reorders the keys: build
    DuckDB's compact text ('{"a":1,"b":null}', keys in order) instead, so the payloads of
    the quarantine are the same text on both. to_json escapes each value as DuckDB does.
-#}
{% macro postgres__json_object_from_columns(columns) -%}
    ('{' || concat_ws(','
        {%- for column in columns %}
        {%- set key, expr = (column, adapter.quote(column)) if column is string else column %},
        '"{{ key }}":' || coalesce(cast(to_json({{ expr }}) as text), 'null')
        {%- endfor %}
    ) || '}')
{%- endmacro %}

{#- Spark's to_json leaves out null fields unless told not to. -#}
{% macro spark__json_object_from_columns(columns) -%}
    to_json(named_struct(
        {%- for column in columns %}
        {%- set key, expr = (column, adapter.quote(column)) if column is string else column %}
        '{{ key }}', {{ expr }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}
