-- fct_recommendations keeps ranks 1 to recommendations_max_rank (a rule of seed
-- engagement_rules). Returns the rows ranked beyond it.

with

recommendations as (
    select * from {{ ref('fct_recommendations') }}
)

select * from recommendations
where rank > {{ rule('recommendations_max_rank') }}
