{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'activity_date'],
        meta={'window_column': 'activity_date'},
    )
}}
-- One row per user and local day of the spine (int_user_days): event counts per type,
-- minutes saved, is_active. Incremental (macros/incremental.sql): a run rebuilds the days of
-- its window, and every earlier day of the users with no row the day before it (loaded late,
-- or not built yet); it reads only those days of the spine and of the events.
-- One count column per event type of seed event_types (macros/event_types.sql).
-- depends_on: {{ ref('event_types') }}
{%- set event_count_columns = event_count_columns() %}
{%- if is_incremental() %}
{%- set window = incremental_window('activity_date') %}
{%- set late_users = incremental_late_ids(ref('int_user_days'), 'user_id', 'activity_date', window) %}
{%- endif %}

with

{% if is_incremental() %}

spine as (
    {{ incremental_rows(ref('int_user_days'), 'activity_date', window, 'user_id', late_users) }}
),

events as (
    {{ incremental_rows(ref('int_activity_events'), 'activity_date', window, 'user_id', late_users) }}
),

{% else %}

spine as (
    select * from {{ ref('int_user_days') }}
),

events as (
    select * from {{ ref('int_activity_events') }}
),

{% endif %}

daily_events as (
    select
        events.user_id,
        events.activity_date,
        {%- for event_name, count_column in event_count_columns %}
        sum(case when events.event_name = '{{ event_name }}' then 1 else 0 end) as {{ count_column }},
        {%- endfor %}
        sum(case when events.is_bulk_workflow then 1 else 0 end) as bulk_workflows_completed,
        sum(case when events.is_automated_workflow then 1 else 0 end) as automated_workflows_completed,
        sum(case when events.is_optimized_action then 1 else 0 end) as optimized_actions,
        count(*) as event_count,
        sum(events.minutes_saved) as minutes_saved
    from events
    inner join spine
        on
            events.user_id = spine.user_id
            and events.activity_date = spine.activity_date
    group by events.user_id, events.activity_date
),

final as (
    {%- set int_type = dbt.type_int() %}
    select
        cast(spine.user_id as {{ dbt.type_string() }}) as user_id,
        cast(spine.account_id as {{ dbt.type_string() }}) as account_id,
        cast(spine.activity_date as date) as activity_date,
        {%- for _event_name, count_column in event_count_columns %}
        cast(coalesce(daily_events.{{ count_column }}, 0) as {{ int_type }}) as {{ count_column }},
        {%- endfor %}
        cast(coalesce(daily_events.bulk_workflows_completed, 0) as {{ int_type }}) as bulk_workflows_completed,
        cast(
            coalesce(daily_events.automated_workflows_completed, 0) as {{ int_type }}
        ) as automated_workflows_completed,
        cast(coalesce(daily_events.optimized_actions, 0) as {{ int_type }}) as optimized_actions,
        cast(coalesce(daily_events.event_count, 0) as {{ int_type }}) as event_count,
        cast(coalesce(daily_events.minutes_saved, 0) as {{ type_double() }}) as minutes_saved,
        coalesce(daily_events.event_count, 0) > 0 as is_active
    from spine
    left join daily_events
        on
            spine.user_id = daily_events.user_id
            and spine.activity_date = daily_events.activity_date
)

select * from final
