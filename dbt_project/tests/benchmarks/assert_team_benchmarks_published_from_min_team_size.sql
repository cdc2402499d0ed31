-- Team size: a team comparison is published (team_avg, pct_vs_team_avg) only when at least
-- min_team_size (a rule of seed engagement_rules) other users of the account were active,
-- so no colleague's activity can be read from it. Returns the rows that break it.

with

team_benchmarks as (
    select * from {{ ref('fct_team_benchmarks') }}
)

select
    user_id,
    month,
    metric,
    other_active_users,
    is_published,
    team_avg,
    pct_vs_team_avg
from team_benchmarks
where
    is_published <> (other_active_users >= {{ rule('min_team_size') }})
    or (
        other_active_users < {{ rule('min_team_size') }}
        and (team_avg is not null or pct_vs_team_avg is not null)
    )
