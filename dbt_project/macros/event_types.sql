{#-
    event_count_columns(): the event vocabulary of seed `event_types`, as a list of
    (event_name, daily_count_column) pairs ordered by event_name. fct_user_activity_daily
    counts each event type in its column, so a new event type is a row of the seed, not SQL.

    dbt does not know a seed's rows when it parses the project, so they are read from the
    warehouse when the model compiles (`dbt build` loads the seed first: the model refs it);
    while dbt parses, the list is empty. The seed's table is found through the graph, which a
    unit test does not have (its ref() names fixtures, which no query can read): a unit test
    gives its own list, `overrides: macros: event_count_columns: [[event_name, column], ...]`.
-#}
{% macro event_count_columns() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set seed = graph.get('nodes', {}).get('seed.flywheel.event_types') -%}
    {%- if seed is none -%}
        {{ exceptions.raise_compiler_error(
            "event_count_columns() has no graph to find seed event_types in: a unit test must "
            ~ "override it (overrides: macros: event_count_columns: [[event_name, column], ...])"
        ) }}
    {%- endif -%}
    {%- set relation = adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.alias) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "seed event_types is not in the warehouse: run `dbt seed` first (`dbt build` does)"
        ) }}
    {%- endif -%}
    {%- set rows = run_query('select event_name, daily_count_column from ' ~ relation ~ ' order by event_name') -%}
    {%- set pairs = [] -%}
    {%- for row in rows -%}
        {%- do pairs.append((row[0], row[1])) -%}
    {%- endfor -%}
    {{ return(pairs) }}
{%- endmacro %}
