-- One row per account and day of history: the stage the rule gives that day, from the
-- shares of its users in each stage (not from sums that grow with headcount), the stable
-- stage (the same hysteresis as users) and the dormant flag (docs/engagement-model.md,
-- "Stages"). The rule: the highest stage that at least account_stage_user_share_pct percent
-- of the account's active (not dormant) users have reached, or of all its users when none
-- is active; implement on days it has no user yet.

with

accounts as (
    select * from {{ ref('int_entity_metrics_daily') }}
    where entity_type = 'account'
),

user_stages as (
    select * from {{ ref('int_user_stages_daily') }}
),

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
        min(case when is_dormant then 1 else 0 end) = 1 as is_dormant
    from account_users
    group by account_id, metric_date
),

rule_stages as (
    select
        accounts.account_id,
        accounts.metric_date,
        coalesce(stages.stage, 'implement') as rule_stage,
        coalesce(dormancy.is_dormant, false) as is_dormant
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
),

{{ stable_stage_ctes('account_id') }},

final as (
    select
        account_id,
        metric_date,
        rule_stage,
        stage,
        is_dormant
    from stable_stages
)

select * from final
