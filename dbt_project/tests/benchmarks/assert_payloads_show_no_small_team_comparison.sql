-- No e-mail compares a user with fewer than min_team_size (a rule of seed engagement_rules)
-- other active teammates. Returns the payloads that do.

with

payloads as (
    select * from {{ ref('rpt_email_payloads') }}
),

team_benchmarks as (
    select * from {{ ref('fct_team_benchmarks') }}
    where metric = 'tasks_completed'
)

select
    payloads.send_key,
    team_benchmarks.other_active_users,
    payloads.user_pct_vs_team_avg
from payloads
inner join team_benchmarks
    on
        payloads.user_id = team_benchmarks.user_id
        and {{ dbt.date_trunc('month', 'payloads.triggered_on') }} = team_benchmarks.month
where
    payloads.user_pct_vs_team_avg is not null
    and team_benchmarks.other_active_users < {{ rule('min_team_size') }}
