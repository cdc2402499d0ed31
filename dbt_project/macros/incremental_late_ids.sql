{#-
    The entities an incremental run builds from their first day (the rows they have before the
    window, besides the window's), for incremental_rows()'s `rebuilt`: those of `relation` (one
    row per entity and day, dense, like the model) with a row before the window but none in the
    model's table on the day before it, `this_date_column` (loaded late, or not built yet).
    In a run, a literal list of ids (`null` when there are none, which is nearly always), read
    while the model compiles: the engine then skips the earlier rows of every scan upstream,
    while a join to a computed list made it read them all. In a unit test, SQL over the `this`
    fixture.
-#}
{% macro incremental_late_ids(relation, id_column, date_column, window, this_date_column=none) -%}
    {%- set late_ids -%}
        select distinct upstream.{{ id_column }}
        from {{ relation }} as upstream
        where
            upstream.{{ date_column }} < {{ window.start }}
            and not exists (
                select 1
                from {{ this }} as this_table
                where
                    this_table.{{ id_column }} = upstream.{{ id_column }}
                    and this_table.{{ this_date_column or date_column }} = {{ window.anchor_day }}
            )
    {%- endset -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{- return(late_ids) -}}
    {%- endif -%}
    {%- set ids = run_query(late_ids).columns[0].values() | sort -%}
    {%- if not ids -%}
        {{- return('null') -}}
    {%- endif -%}
    {{- return(string_literals(ids)) -}}
{%- endmacro %}
