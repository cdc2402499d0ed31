-- Users and accounts in one relation (entity_type 'user' or 'account'), one row per entity
-- and day of history, with the metrics the ladders, stages, badges and recommendations read.
-- Every rule downstream is written once for both kinds of entity.

{#- the metrics the rule seeds may name (macros/gamification_metrics.sql), and the activity
    flag and dates the stage and trigger rules read -#}
{%- set metric_columns = ['is_active', 'last_active_date', 'last_onboarding_step_date'] + gamification_metrics() %}

with

user_metrics as (
    select * from {{ ref('int_user_metrics_daily') }}
),

account_metrics as (
    select * from {{ ref('int_account_metrics_daily') }}
),

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
        *,
        -- the spine starts on the entity's first day (created or first active, whichever
        -- is earlier), so the first metric_date is the day the entity started
        min(metric_date) over (partition by entity_type, entity_id) as entity_start_date
    from unioned
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
