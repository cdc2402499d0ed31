-- A personal best needs a weekly count of at least the rule personal_best_min_count.
-- Returns the personal bests below it.

with

personal_bests as (
    select * from {{ ref('fct_personal_bests') }}
)

select * from personal_bests
where week_count < {{ rule('personal_best_min_count') }}
