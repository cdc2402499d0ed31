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

{#- The one-row CTE `incremental_window` (window_start, window_end) of the model's table. -#}
{% macro incremental_window_cte(date_column) -%}
incremental_window as (
    select
        {{ incremental_window_start(date_column) }} as window_start,
        {{ incremental_window_end() }} as window_end
    from {{ this }}
)
{%- endmacro %}

{#- The day before the window: the day whose stored state a run carries. -#}
{% macro incremental_anchor_date() -%}
    cast({{ dbt.dateadd('day', -1, 'incremental_window.window_start') }} as date)
{%- endmacro %}

{#-
    The CTE `<name>`: the entities of `source` (one row per entity and day, dense) that started
    before the window but have no anchor (loaded late, or not built yet): a run rebuilds every
    day of theirs, from no state.
-#}
{% macro incremental_unanchored_entities(name, source, entity_id, date_column, anchors='anchors') -%}
{{ name }} as (
    select {{ source }}.{{ entity_id }}
    from {{ source }}
    inner join incremental_window
        on {{ source }}.{{ date_column }} = {{ incremental_anchor_date() }}
    left join {{ anchors }}
        on {{ source }}.{{ entity_id }} = {{ anchors }}.{{ entity_id }}
    where {{ anchors }}.{{ entity_id }} is null
)
{%- endmacro %}

{#-
    The rows of `source` a run reads: the window's, `context_days` more before it (rolling
    windows of up to context_days + 1 days read them from upstream, not from the stored rows),
    and every earlier day of the entities of `rebuilt` (a CTE of entity ids).
-#}
{% macro incremental_rows_to_build(source, entity_id, date_column, rebuilt, context_days=0) -%}
    {%- set context_start = 'cast(' ~ dbt.dateadd('day', -1 * context_days, 'incremental_window.window_start') ~ ' as date)' -%}
    select {{ source }}.*
    from {{ source }}
    inner join incremental_window
        on {{ source }}.{{ date_column }} between {{ context_start }} and incremental_window.window_end

    union all

    select {{ source }}.*
    from {{ source }}
    inner join incremental_window
        on {{ source }}.{{ date_column }} < {{ context_start }}
    inner join {{ rebuilt }}
        on {{ source }}.{{ entity_id }} = {{ rebuilt }}.{{ entity_id }}
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
    {%- for name in ['holdout_salt', 'future_tolerance_minutes', 'incremental_lookback_days'] -%}
        {%- do parts.append(name ~ '=' ~ var(name)) -%}
    {%- endfor -%}
    {{- return(local_md5(parts | sort | join('\n'))) -}}
{%- endmacro %}

{% macro incremental_builds_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='intermediate', identifier='incremental_builds')) -}}
{%- endmacro %}

{#- on-run-start: the table of what each incremental model was last built with -#}
{% macro create_incremental_builds() -%}
    {%- set relation = incremental_builds_relation() -%}
    create schema if not exists {{ relation.schema }};
    create table if not exists {{ relation }} (
        model {{ dbt.type_string() }} not null,
        rules_checksum {{ dbt.type_string() }} not null,
        built_at {{ dbt.type_timestamp() }} not null
    )
{%- endmacro %}

{#-
    The pre-hook of every model (dbt_project.yml); it does something only in an incremental run
    of an incremental model whose config names its date column (`meta: {window_column: ...}`):
    - when its rules changed (incremental_rules_checksum), it empties the table, so the window
      starts in 1900 and this run rebuilds all of the history;
    - otherwise the rows from window_start on go. The model inserts the window's rows again,
      so a row that no longer holds (a recommendation done after a late event) does not stay,
      and rows after the window do not keep state carried from the rows this run replaces:
      a re-run of a past day leaves the history up to that day, as a table model does, and
      the next run builds the rest. Read after this delete, window_start can only move earlier
      (when no min_date is set): more days are rebuilt, never fewer.
-#}
{% macro incremental_pre_hook() -%}
    {%- set window_column = incremental_window_column() -%}
    {%- if window_column and is_incremental() -%}
        {%- set recorded = run_query(
            "select rules_checksum from " ~ incremental_builds_relation()
            ~ " where model = '" ~ this.identifier ~ "'"
        ) -%}
        {%- if recorded.rows | length == 0 or recorded.rows[0][0] != incremental_rules_checksum() -%}
            {{ log(this.identifier ~ ": its rules or upstream models changed since its last build; rebuilding all of its history", info=true) }}
            delete from {{ this }}
        {%- else -%}
            delete from {{ this }}
            where {{ window_column }} >= (select {{ incremental_window_start(window_column) }} from {{ this }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The post-hook of every model: an incremental model records what it was built with. -#}
{% macro incremental_post_hook() -%}
    {%- if incremental_window_column() and model.config.materialized == 'incremental' -%}
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
    hand or with --full-refresh. A test's own `where` config still applies.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- set window_column = tested.config.get('meta', {}).get('window_column') if tested else none -%}
    {%- if window_column and run_var('min_date') and not flags.FULL_REFRESH -%}
        {%- set window_start = dbt.dateadd('day', -1 * var('incremental_lookback_days'), "cast('" ~ run_var('min_date') ~ "' as date)") -%}
        {%- do filters.append(window_column ~ ' >= cast(' ~ window_start ~ ' as date)') -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
