-- fct_account_activity_monthly adds up its users: per account and month, the counts and
-- minutes saved equal the sums of fct_user_activity_daily. Returns the differing months.

with

account_months as (
    select * from {{ ref('fct_account_activity_monthly') }}
),

user_activity as (
    select * from {{ ref('fct_user_activity_daily') }}
),

user_sums as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month,
        sum(tasks_completed) as tasks_completed,
        sum(workflows_completed) as workflows_completed,
        sum(reports_generated) as reports_generated,
        sum(minutes_saved) as minutes_saved
    from user_activity
    group by account_id, cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
),

final as (
    select
        account_months.account_id,
        account_months.month,
        account_months.tasks_completed,
        user_sums.tasks_completed as user_tasks_completed
    from account_months
    inner join user_sums
        on
            account_months.account_id = user_sums.account_id
            and account_months.month = user_sums.month
    where
        account_months.tasks_completed <> user_sums.tasks_completed
        or account_months.workflows_completed <> user_sums.workflows_completed
        or account_months.reports_generated <> user_sums.reports_generated
        or abs(account_months.minutes_saved - user_sums.minutes_saved) > 0.001
)

select * from final
