-- One row per account and day of history: the stage the rule gives that day, from the
-- shares of its users in each stage (not from sums that grow with headcount), the stable
-- stage (the same hysteresis as users) and the dormant flag (docs/engagement-model.md,
-- "Stages"). The rule: the highest stage that at least account_stage_user_share_pct percent
-- of the account's active (not dormant) users have reached, or of all its users when none
-- is active; implement on days it has no user yet.
-- Incremental (macros/incremental.sql): a run builds the days of its window, carrying the
-- rule's stage, how long it has held and the stable stage from the day before it. An account
-- is built from its first day when it has no row that day although in the history (loaded
-- late), or when its number of users that day changed since it was built (a user of it
-- loaded late).
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'metric_date'],
        meta={'window_column': 'metric_date'},
    )
}}
{%- if is_incremental() %}
{%- set window = incremental_window('metric_date') %}
{%- endif %}

with

{% if is_incremental() %}

stored_anchors as (
    select
        account_id,
        rule_stage,
        rule_stage_run_days,
        stage,
        user_count
    from {{ this }}
    where metric_date = {{ window.anchor_day }}
),

users_on_anchor_day as (
    select
        account_id,
        count(*) as user_count
    from {{ ref('int_user_stages_daily') }}
    where metric_date = {{ window.anchor_day }}
    group by account_id
),

-- accounts in the history the day before the window that have no row that day, or another
-- number of users than when it was built
unanchored_accounts as (
    select accounts.entity_id as account_id
    from {{ ref('int_entity_metrics_daily') }} as accounts
    left join stored_anchors
        on accounts.entity_id = stored_anchors.account_id
    left join users_on_anchor_day
        on accounts.entity_id = users_on_anchor_day.account_id
    where
        accounts.entity_type = 'account'
        and accounts.metric_date = {{ window.anchor_day }}
        and (
            stored_anchors.account_id is null
            or coalesce(users_on_anchor_day.user_count, 0) <> stored_anchors.user_count
        )
),

anchors as (
    select stored_anchors.*
    from stored_anchors
    where stored_anchors.account_id not in (select unanchored_accounts.account_id from unanchored_accounts)
),

{%- set rebuilt_accounts = 'select unanchored_accounts.account_id from unanchored_accounts' %}

accounts as (
    {{ incremental_rows(
        ref('int_entity_metrics_daily'), 'metric_date', window, 'entity_id', rebuilt_accounts,
        where="entity_type = 'account'",
    ) }}
),

user_stages as (
    {{ incremental_rows(ref('int_user_stages_daily'), 'metric_date', window, 'account_id', rebuilt_accounts) }}
),

{% else %}

anchors as (  -- none: every account's days are all built
    select
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_string() }}) as rule_stage,
        cast(null as integer) as rule_stage_run_days,
        cast(null as {{ dbt.type_string() }}) as stage,
        cast(null as integer) as user_count
    where false
),

accounts as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'account'
),

user_stages as (
    select * from {{ ref('int_user_stages_daily') }}
),

{% endif %}

stages as (
    select * from {{ ref('engagement_stages') }}
),

account_users as (
    select
        user_stages.account_id,
        user_stages.metric_date,
        user_stages.is_dormant,
        stages.stage_rank,
        -- judged on the active users, or on every user when none is active
        not user_stages.is_dormant
        or min(case when user_stages.is_dormant then 1 else 0 end) over (
            partition by user_stages.account_id, user_stages.metric_date
        ) = 1 as is_judged
    from user_stages
    inner join stages
        on user_stages.stage = stages.stage
),

stage_shares as (
    -- the share of judged users at each stage or beyond
    select
        account_users.account_id,
        account_users.metric_date,
        stages.stage_rank,
        100.0 * sum(case when account_users.stage_rank >= stages.stage_rank then 1 else 0 end)
        / count(*) as share_pct
    from account_users
    cross join stages
    where account_users.is_judged
    group by account_users.account_id, account_users.metric_date, stages.stage_rank
),

account_days as (
    select
        account_id,
        metric_date,
        max(case when share_pct >= {{ rule('account_stage_user_share_pct') }} then stage_rank end)
            as stage_rank
    from stage_shares
    group by account_id, metric_date
),

dormancy as (
    select
        account_id,
        metric_date,
        min(case when is_dormant then 1 else 0 end) = 1 as is_dormant,
        count(*) as user_count
    from account_users
    group by account_id, metric_date
),

rule_stages as (
    select
        accounts.account_id,
        accounts.metric_date,
        coalesce(stages.stage, 'implement') as rule_stage,
        coalesce(dormancy.is_dormant, false) as is_dormant,
        coalesce(dormancy.user_count, 0) as user_count,
        anchors.rule_stage as anchor_rule_stage,
        anchors.rule_stage_run_days as anchor_rule_stage_run_days,
        anchors.stage as anchor_stage
    from accounts
    left join account_days
        on
            accounts.account_id = account_days.account_id
            and accounts.metric_date = account_days.metric_date
    left join stages
        on account_days.stage_rank = stages.stage_rank
    left join dormancy
        on
            accounts.account_id = dormancy.account_id
            and accounts.metric_date = dormancy.metric_date
    left join anchors
        on accounts.account_id = anchors.account_id
),

{{ stable_stage_ctes('account_id', anchored=true) }},

final as (
    select
        account_id,
        metric_date,
        rule_stage,
        stage,
        is_dormant,
        -- the state the next incremental run carries, and what it checks
        cast(stage_run_day as integer) as rule_stage_run_days,
        cast(user_count as integer) as user_count
    from stable_stages
)

select * from final
