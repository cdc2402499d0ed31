{#-
    url_query_parameter(expr, name): the raw value of the query parameter `name` in the URL
    `expr` (text), null when it has none. Used to attribute a click to its call to action
    through the link's utm_content. Values are URL-safe ids here, so no decoding is done.
-#}
{% macro url_query_parameter(expr, name) -%}
    {{ return(adapter.dispatch('url_query_parameter', 'flywheel')(expr, name)) }}
{%- endmacro %}

{% macro default__url_query_parameter(expr, name) -%}
    substring({{ expr }} from '[?&]{{ name }}=([^&#]+)')
{%- endmacro %}

{% macro duckdb__url_query_parameter(expr, name) -%}
    nullif(regexp_extract({{ expr }}, '[?&]{{ name }}=([^&#]+)', 1), '')
{%- endmacro %}

{% macro spark__url_query_parameter(expr, name) -%}
    nullif(regexp_extract({{ expr }}, '[?&]{{ name }}=([^&#]+)', 1), '')
{%- endmacro %}
