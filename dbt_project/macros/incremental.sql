{#-
    The machinery every incremental model shares (docs/engagement-model.md, "Incremental
    models"). A model rebuilds the days of the run's window, [window_start, window_end], and
    carries the state it needs from the row it built the day before window_start.

    - window_end: the run's max_date, or as_of_date.
    - window_start: `incremental_lookback_days` before the first day to build (min_date, or the
      day after the last day built), so late events still correct the facts; and never after
      the day after the last day built, so a skipped partition leaves no day unbuilt.
    - The state of the day before window_start is final: look-back days are rebuilt in the same
      run, so a model never anchors on them.
-#}

{% macro incremental_window_end() -%}
    {%- if run_var('max_date') -%}
        cast('{{ run_var("max_date") }}' as date)
    {%- else -%}
        {{ as_of_date() }}
    {%- endif -%}
{%- endmacro %}

{#- The model's `meta: {window_column: ...}`, when this runs (none while dbt parses). -#}
{% macro incremental_window_column() -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return((model.config.meta or {}).get('window_column')) -}}
{%- endmacro %}

{#- window_start, an aggregate over the model's table (`select ... from this`). -#}
{% macro incremental_window_start(date_column) -%}
    {%- set lookback = var('incremental_lookback_days') -%}
    {%- set next_unbuilt_day -%}
        coalesce(
            cast({{ dbt.dateadd('day', 1, 'max(' ~ date_column ~ ')') }} as date),
            cast('1900-01-01' as date)
        )
    {%- endset -%}
    {%- set first_day_to_build -%}
        {%- if run_var('min_date') -%}
            cast('{{ run_var("min_date") }}' as date)
        {%- else -%}
            {{ next_unbuilt_day }}
        {%- endif -%}
    {%- endset -%}
    least(
        cast({{ dbt.dateadd('day', -1 * lookback, first_day_to_build) }} as date),
        {{ next_unbuilt_day }}
    )
{%- endmacro %}

{#-
    The run's window as SQL: {'start': ..., 'end': ..., 'anchor_day': the day before start,
    whose stored state the model carries}. A model calls it once and passes it on: each call
    runs its queries again. In a run, window_start is a date
    literal, read from the model's table while the model compiles (before its pre-hook), so the
    engine skips the rows before it in every scan upstream, views and CTEs included: a join to a
    computed window would read all of the history first. In a unit test, the same expression
    is computed over the `this` fixture.

    late_entities: for a model whose rows pool many entities (cohorts, peers), where to find the
    entities loaded late: {'relation': the upstream model, 'key': its entity column, 'this_key':
    the model's, 'where': which upstream rows (alias `upstream`) need a row in the model}. An
    entity with such a row the day before the window, and no row in the model's table that day,
    was loaded late; the window moves back to its first day in the upstream model (its
    metric_date), since those days change for everyone.
-#}
{% macro incremental_window(date_column, late_entities=none) -%}
    {%- set start_of_table = 'select ' ~ incremental_window_start(date_column) ~ ' from ' ~ this -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {%- set start = '(' ~ start_of_table ~ ')' -%}
        {%- if late_entities -%}
            {%- set late_start = incremental_late_first_day(date_column, late_entities, start) -%}
            {%- set start = 'least(' ~ start ~ ', coalesce((' ~ late_start ~ '), ' ~ start ~ '))' -%}
        {%- endif -%}
    {%- elif incremental_history_is_stale() -%}
        {#- the pre-hook empties the table: all of the history is built -#}
        {%- set start = "cast('1900-01-01' as date)" -%}
    {%- else -%}
        {%- set start_date = run_query(start_of_table).columns[0].values()[0] -%}
        {%- if late_entities -%}
            {%- set late_query = incremental_late_first_day(date_column, late_entities, date_literal(start_date)) -%}
            {%- set late_date = run_query(late_query).columns[0].values()[0] -%}
            {%- if late_date is not none and late_date < start_date -%}
                {%- set start_date = late_date -%}
            {%- endif -%}
        {%- endif -%}
        {%- set start = date_literal(start_date) -%}
    {%- endif -%}
    {%- set anchor_day = 'cast(' ~ dbt.dateadd('day', -1, start) ~ ' as date)' -%}
    {{- return({'start': start, 'end': incremental_window_end(), 'anchor_day': anchor_day}) -}}
{%- endmacro %}

{#- The first day of the entities loaded late (see incremental_window), or null. -#}
{% macro incremental_late_first_day(date_column, late_entities, window_start) -%}
    select min(upstream.metric_date)
    from {{ late_entities.relation }} as upstream
    where
        upstream.{{ late_entities.key }} in (
            select upstream.{{ late_entities.key }}
            from {{ late_entities.relation }} as upstream
            left join {{ this }} as this_table
                on
                    upstream.{{ late_entities.key }} = this_table.{{ late_entities.this_key }}
                    and upstream.metric_date = this_table.{{ date_column }}
            where
                {{ late_entities.where }}
                and upstream.metric_date = cast({{ dbt.dateadd('day', -1, window_start) }} as date)
                and this_table.{{ late_entities.this_key }} is null
        )
{%- endmacro %}

{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- Text values as a list of SQL string literals, for an IN list written into a model. -#}
{% macro string_literals(values) -%}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
{%- endmacro %}

{#-
    The rows of `relation` an incremental run reads (a query): those of the window and the
    `context_days` before it (rolling windows of up to context_days + 1 days read them from
    upstream, not from the stored rows), and every earlier one of the entities built again
    from their first day (`rebuilt`: a query of their ids, matched on `id_column`). `where`: a
    condition on every row read.
-#}
{% macro incremental_rows(relation, date_column, window, id_column, rebuilt, where='true', context_days=0) -%}
    {%- set first_day = window.start if context_days == 0
        else 'cast(' ~ dbt.dateadd('day', -1 * context_days, window.start) ~ ' as date)' -%}
    select * from {{ relation }}
    where {{ where }} and {{ date_column }} between {{ first_day }} and {{ window.end }}

    union all

    select * from {{ relation }}
    where
        {{ where }}
        and {{ date_column }} < {{ first_day }}
        and {{ id_column }} in ({{ rebuilt }})
{%- endmacro %}

{#-
    A query of the entities of `relation` (one row per entity and day, dense) in the history
    the day before the window with no row in `anchors` (the stored rows of that day): loaded
    late, or not built yet. A run builds every day of theirs, from no state.
-#}
{% macro incremental_unanchored(relation, id_column, date_column, window, anchors='anchors') -%}
    select {{ id_column }} from {{ relation }}
    where {{ date_column }} = {{ window.anchor_day }}

    except

    select {{ id_column }} from {{ anchors }}
{%- endmacro %}

{#-
    For a model incremental by what arrived (not by date): a condition keeping the rows of
    `relation` whose `column` value is not in the model's table yet (the files not checked
    yet). In a run it is a literal list, read while the model
    compiles, so the engine filters the scan itself instead of computing every row of a view
    first; in a unit test, SQL over the `this` fixture; always true when the pre-hook empties
    the table.
-#}
{% macro incremental_new_values(column, relation) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ column }} not in (select this_table.{{ column }} from {{ this }} as this_table)
    {%- elif incremental_history_is_stale() -%}
        true
    {%- else -%}
        {%- set new_values = run_query(
            'select distinct ' ~ column ~ ' from ' ~ relation
            ~ ' except select distinct ' ~ column ~ ' from ' ~ this
        ).columns[0].values() | sort -%}
        {%- if new_values -%}
            {{ column }} in ({{ string_literals(new_values) }})
        {%- else -%}
            false
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    What an incremental model's stored rows were computed by: the checksums of the model, of
    every model and seed upstream of it (the rules live in seeds), and of the vars that change
    results. When it differs from the one recorded at the last build, the table's history is
    stale, and `incremental_pre_hook` empties it so this run rebuilds all
    of it. Macros are not covered: a change to one is deployed with --full-refresh
    (docs/operations.md).
-#}
{% macro incremental_rules_checksum() -%}
    {%- set parts = [] -%}
    {%- set pending = [model.unique_id] -%}
    {%- set seen = [] -%}
    {%- for unique_id in pending -%}
        {%- if unique_id not in seen and unique_id in graph.nodes -%}
            {%- do seen.append(unique_id) -%}
            {%- set node = graph.nodes[unique_id] -%}
            {%- do parts.append(unique_id ~ '=' ~ node.checksum.checksum) -%}
            {%- for parent in node.depends_on.nodes -%}
                {%- do pending.append(parent) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['holdout_salt', 'holdout_unit', 'variant_salt', 'future_tolerance_minutes', 'incremental_lookback_days'] -%}
        {%- do parts.append(name ~ '=' ~ var(name)) -%}
    {%- endfor -%}
    {{- return(local_md5(parts | sort | join('\n'))) -}}
{%- endmacro %}

{% macro incremental_builds_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='intermediate', identifier='incremental_builds')) -}}
{%- endmacro %}

{#-
    Spark's tables here are plain Parquet, which has no `delete`: on Spark every incremental
    model is built whole on every run, as with --full-refresh (dbt's own macro, overridden for
    that one adapter), and there is nothing to record. A table format with `delete` and
    `merge` (Delta Lake, Iceberg) would run the incremental path (docs/scaling.md).
-#}
{% macro should_full_refresh() -%}
    {%- set config_full_refresh = config.get('full_refresh') -%}
    {%- if target.type == 'spark' -%}
        {%- set config_full_refresh = true -%}
    {%- elif config_full_refresh is none -%}
        {%- set config_full_refresh = flags.FULL_REFRESH -%}
    {%- endif -%}
    {{- return(config_full_refresh) -}}
{%- endmacro %}

{#- on-run-start: the table of what each incremental model was last built with -#}
{% macro create_incremental_builds() -%}
    {%- if target.type == 'spark' -%}
        {{- return(default__create_udfs()) -}}
    {%- endif -%}
    {%- set relation = incremental_builds_relation() -%}
    create schema if not exists {{ relation.schema }};
    create table if not exists {{ relation }} (
        model {{ dbt.type_string() }} not null,
        rules_checksum {{ dbt.type_string() }} not null,
        built_at {{ dbt.type_timestamp() }} not null
    )
{%- endmacro %}

{#- Whether the model's stored rows were built with other rules (incremental_rules_checksum). -#}
{% macro incremental_history_is_stale() -%}
    {%- set recorded = run_query(
        "select rules_checksum from " ~ incremental_builds_relation()
        ~ " where model = '" ~ this.identifier ~ "'"
    ) -%}
    {{- return(recorded.rows | length == 0 or recorded.rows[0][0] != incremental_rules_checksum()) -}}
{%- endmacro %}

{#-
    The pre-hook of every model (dbt_project.yml); it does something only in an incremental run:
    - when the model's rules changed (incremental_rules_checksum), it empties the table, so
      this run rebuilds all of it (the window starts in 1900);
    - otherwise, in a model whose config names its date column (`meta: {window_column: ...}`),
      the rows from window_start on go. The model inserts the window's rows again, so a row
      that no longer holds (a recommendation done after a late event) does not stay, and rows
      after the window do not keep state carried from the rows this run replaces: a re-run of
      a past day leaves the history up to that day, as a table model does, and the next run
      builds the rest. The model read its window_start with the same expression before this
      delete (incremental_window), so both agree.
-#}
{% macro incremental_pre_hook() -%}
    {%- set window_column = incremental_window_column() -%}
    {%- if is_incremental() -%}
        {%- if incremental_history_is_stale() -%}
            {{ log(this.identifier ~ ": its rules or upstream models changed since its last build; rebuilding all of its history", info=true) }}
            delete from {{ this }}
        {%- elif window_column -%}
            delete from {{ this }}
            where {{ window_column }} >= (select {{ incremental_window_start(window_column) }} from {{ this }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The post-hook of every model: an incremental model records what it was built with. -#}
{% macro incremental_post_hook() -%}
    {%- if model.config.materialized == 'incremental' and target.type != 'spark' -%}
        {%- set relation = incremental_builds_relation() -%}
        delete from {{ relation }} where model = '{{ this.identifier }}';
        insert into {{ relation }} (model, rules_checksum, built_at)
        values ('{{ this.identifier }}', '{{ incremental_rules_checksum() }}', current_timestamp)
    {%- endif -%}
{%- endmacro %}

{#-
    Data tests go through this macro (dbt's own, overridden): on a model whose config names its
    window column, they check only the run's window in a run with min_date (a daily run or a
    backfill: the rows before it were checked when they were built), and every row in a run by
    hand or with --full-refresh. A model of whole months (`meta: {window_grain: month}`, its
    window column the month's first day) has the window's months checked. A test's own `where`
    config still applies.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- set meta = tested.config.get('meta', {}) if tested else {} -%}
    {%- set window_column = meta.get('window_column') -%}
    {%- if window_column and run_var('min_date') and not flags.FULL_REFRESH -%}
        {%- set window_start = dbt.dateadd('day', -1 * var('incremental_lookback_days'), "cast('" ~ run_var('min_date') ~ "' as date)") -%}
        {%- if meta.get('window_grain') -%}
            {%- set window_start = dbt.date_trunc(meta.window_grain, window_start) -%}
        {%- endif -%}
        {%- do filters.append(window_column ~ ' >= cast(' ~ window_start ~ ' as date)') -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
