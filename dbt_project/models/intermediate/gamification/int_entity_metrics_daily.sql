{{
    config(
        materialized='incremental',
        unique_key=['entity_type', 'entity_id', 'metric_date'],
        meta={'window_column': 'metric_date'},
    )
}}
-- Users and accounts in one relation (entity_type 'user' or 'account'), one row per entity
-- and day of history, with the metrics the ladders, stages, badges and recommendations read.
-- Every rule downstream is written once for both kinds of entity.
-- Incremental (macros/incremental.sql): a run builds the days of its window, carrying each
-- entity's first day from the day before the window; an entity with no row that day although
-- it started earlier (loaded late) is built from its first day. The employee band is the
-- account's when the day was built (a full refresh stamps today's on every day).

{#- the metrics the rule seeds may name (macros/gamification_metrics.sql), and the activity
    flag and dates the stage and trigger rules read -#}
{%- set metric_columns = ['is_active', 'last_active_date', 'last_onboarding_step_date'] + gamification_metrics() %}
{%- set entities = [
    {'type': 'user', 'id': 'user_id', 'relation': ref('int_user_metrics_daily')},
    {'type': 'account', 'id': 'account_id', 'relation': ref('int_account_metrics_daily')},
] %}
{%- if is_incremental() %}
{%- set window = incremental_window('metric_date') %}
{%- endif %}

with

{% if is_incremental() %}

anchors as (
    select
        entity_type,
        entity_id,
        entity_start_date
    from {{ this }}
    where metric_date = {{ window.anchor_day }}
),

-- entities in the history the day before the window with no row that day (loaded late)
unanchored_entities as (
    {%- for entity in entities %}
    select
        '{{ entity.type }}' as entity_type,
        {{ entity.id }} as entity_id
    from {{ entity.relation }}
    where metric_date = {{ window.anchor_day }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

    except

    select
        entity_type,
        entity_id
    from anchors
),

{% else %}

anchors as (  -- none: every entity's days are all built
    select
        cast(null as {{ dbt.type_string() }}) as entity_type,
        cast(null as {{ dbt.type_string() }}) as entity_id,
        cast(null as date) as entity_start_date
    where false
),

{% endif %}

{%- for entity in entities %}

{{ entity.type }}_metrics as (
    {%- if is_incremental() %}
    {{ incremental_rows(
        entity.relation, 'metric_date', window, entity.id,
        "select entity_id from unanchored_entities where entity_type = '" ~ entity.type ~ "'",
    ) }}
    {%- else %}
    select * from {{ entity.relation }}
    {%- endif %}
),
{%- endfor %}

accounts as (
    select * from {{ ref('dim_accounts') }}
),

unioned as (
    select
        'user' as entity_type,
        user_id as entity_id,
        account_id,
        {%- for column in metric_columns %}
        {{ column }},
        {%- endfor %}
        metric_date
    from user_metrics

    union all

    select
        'account' as entity_type,
        account_id as entity_id,
        account_id,
        {%- for column in metric_columns %}
        {{ column }},
        {%- endfor %}
        metric_date
    from account_metrics
),

with_start as (
    select
        unioned.*,
        -- the spine starts on the entity's first day (created or first active, whichever
        -- is earlier), so the first metric_date is the day the entity started
        coalesce(
            anchors.entity_start_date,
            min(unioned.metric_date) over (partition by unioned.entity_type, unioned.entity_id)
        ) as entity_start_date
    from unioned
    left join anchors
        on
            unioned.entity_type = anchors.entity_type
            and unioned.entity_id = anchors.entity_id
),

final as (
    select
        with_start.entity_type,
        with_start.entity_id,
        with_start.account_id,
        accounts.employee_band,
        with_start.metric_date,
        {%- for column in metric_columns %}
        with_start.{{ column }},
        {%- endfor %}
        with_start.entity_start_date,
        {{ dbt.datediff('with_start.entity_start_date', 'with_start.metric_date', 'day') }}
            as days_since_start
    from with_start
    left join accounts
        on with_start.account_id = accounts.account_id
)

select * from final
