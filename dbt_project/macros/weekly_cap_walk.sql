{#-
    weekly_cap_walk(slots): the CTEs of fct_email_triggers that give `weekly_kept` (send_key,
    is_kept) for the rows of `daily_winners` (send_key, user_id, triggered_on, day_number,
    weekly_cap), starting from `carried_slots` in an incremental run.

    The weekly cap needs the e-mails actually kept before each day, so it walks each user's
    days in order, carrying the dates of the last kept e-mails in `slots` columns (kept_1 =
    the newest). A day is kept when fewer than weekly_email_cap (a rule, 1 to `slots`, tested
    on the seed) were kept in the 6 days before it: when the cap-th newest kept date is null
    or more than 6 days old. The walk starts from a day 0 per user, holding the e-mails kept
    before the window (none in a full refresh). The cap is a column of daily_winners: read once,
    not in each of the walk's expressions (each read is a join the planner has to order).
-#}
{% macro weekly_cap_walk(slots) -%}
    {{ return(adapter.dispatch('weekly_cap_walk', 'flywheel')(slots)) }}
{%- endmacro %}

{% macro default__weekly_cap_walk(slots) -%}
{%- set cap_th_newest_kept %}case next_day.weekly_cap{% for slot in range(1, slots + 1) %} when {{ slot }} then weekly_walk.kept_{{ slot }}{% endfor %} end{% endset %}
{%- set is_kept -%}
    (
        {{ cap_th_newest_kept }} is null
        or {{ cap_th_newest_kept }} <= {{ dbt.dateadd('day', -7, 'next_day.triggered_on') }}
    )
{%- endset %}
walked_users as (
    select distinct user_id from daily_winners
),

weekly_walk as (
    -- day 0: the e-mails kept before the first day walked
    select
        walked_users.user_id,
        cast(null as boolean) as is_kept,
        {%- for slot in range(1, slots + 1) %}
        {{ 'carried_slots.kept_' ~ slot if is_incremental() else 'cast(null as date)' }} as kept_{{ slot }},
        {%- endfor %}
        cast(0 as {{ dbt.type_bigint() }}) as day_number
    from walked_users
    {%- if is_incremental() %}
    left join carried_slots
        on walked_users.user_id = carried_slots.user_id
    {%- endif %}

    union all

    select
        next_day.user_id,
        {{ is_kept }} as is_kept,
        {% for slot in range(1, slots + 1) -%}
        case
            when {{ is_kept }}
                then {{ 'next_day.triggered_on' if slot == 1 else 'weekly_walk.kept_' ~ (slot - 1) }}
            else weekly_walk.kept_{{ slot }}
        end as kept_{{ slot }},
        {% endfor -%}
        next_day.day_number
    from weekly_walk
    inner join daily_winners as next_day
        on
            weekly_walk.user_id = next_day.user_id
            and next_day.day_number = weekly_walk.day_number + 1
),

weekly_kept as (
    select
        daily_winners.send_key,
        weekly_walk.is_kept
    from weekly_walk
    inner join daily_winners
        on
            weekly_walk.user_id = daily_winners.user_id
            and weekly_walk.day_number = daily_winners.day_number
),
{%- endmacro %}

{#-
    Spark runs a recursive CTE one step at a time, each step a job that plans the CTEs it reads
    again (the 45 days of the test data: 590 s). Each user's days are folded in order instead,
    with aggregate() over the sorted array of the user's daily winners: the state holds the
    kept dates (newest first) and each day's outcome. Spark builds the model whole (it is never
    incremental there: macros/incremental.sql), so the walk starts with no kept dates.
-#}
{% macro spark__weekly_cap_walk(slots) -%}
{%- set cap_th_newest_kept = 'try_element_at(walk.kept_dates, cast(day.weekly_cap as int))' -%}
{%- set is_kept -%}
    ({{ cap_th_newest_kept }} is null or {{ cap_th_newest_kept }} <= date_add(day.triggered_on, -7))
{%- endset -%}
user_walks as (
    select
        aggregate(
            array_sort(collect_list(struct(day_number, send_key, triggered_on, weekly_cap))),
            named_struct(
                'kept_dates', cast(array() as array<date>),
                'days', cast(array() as array<struct<send_key: string, is_kept: boolean>>)
            ),
            (walk, day) -> named_struct(
                'kept_dates',
                slice(
                    case when {{ is_kept }} then concat(array(day.triggered_on), walk.kept_dates) else walk.kept_dates end,
                    1, {{ slots }}
                ),
                'days',
                concat(walk.days, array(named_struct('send_key', day.send_key, 'is_kept', {{ is_kept }})))
            )
        ).days as days
    from daily_winners
    group by user_id
),

weekly_kept as (
    select inline(days) from user_walks
),
{%- endmacro %}
