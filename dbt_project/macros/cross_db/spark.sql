{#-
    What Spark needs that dbt-spark does not do for this project.

    The contracts (models' yml) and the seeds' column_types name their types as DuckDB and
    PostgreSQL do: varchar, text, double precision, numeric(p, s). Spark SQL has none of these
    names (its varchar needs a length), so on Spark they are read as Spark's own: string,
    double, decimal(p, s). Every other name (integer, bigint, boolean, date, timestamp) is the
    same on all three.
-#}
{% macro spark_type(type) -%}
    {%- set name = type | trim | lower -%}
    {%- if name in ('varchar', 'text') -%}
        string
    {%- elif name == 'double precision' -%}
        double
    {%- elif name.startswith('numeric(') -%}
        decimal{{ name[7:] }}
    {%- else -%}
        {{ type }}
    {%- endif -%}
{%- endmacro %}

{#- dbt's cast(): what a contract's columns are checked against (get_empty_schema_sql). -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}

{#- dbt-spark's seed table, with the seeds' column_types read as Spark's types. -#}
{% macro spark__create_csv_table(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {%- set sql -%}
        create table {{ this.render() }} (
            {%- for col_name in agate_table.column_names -%}
                {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                {%- set type = spark_type(column_override.get(col_name, inferred_type)) -%}
                {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }}{{ ", " if not loop.last }}
            {%- endfor -%}
        )
        {{ file_format_clause() }}
        {{ comment_clause() }}
    {%- endset -%}
    {%- call statement('_') -%}
        {{ sql }}
    {%- endcall -%}
    {{ return(sql) }}
{%- endmacro %}

{#-
    dbt-spark's seed rows, written as SQL literals: its `session` method pastes the bound
    values into the statement unquoted, which breaks on any text.
-#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            (
                {%- for col_name in agate_table.column_names -%}
                    {%- set type = spark_type(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
                    cast({{ spark_literal(row[loop.index0]) }} as {{ type }}){{ ", " if not loop.last }}
                {%- endfor -%}
            ){{ "," if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) if loop.first -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}

{% macro spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ value | lower }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's listagg drops the order (with a warning); Spark 4's own keeps it. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg() on Spark takes no limit_num") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
