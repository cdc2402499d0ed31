-- Every e-mail trigger in history with its arbitration outcome: `suppressed_reason` is null
-- when the e-mail will be sent once it is due. Rules, in order: holdout, opt-outs, no
-- celebration for a dormant user, the daily cap (highest priority wins), the rolling 7-day
-- cap (days taken in order).

{#-
    The weekly cap needs the e-mails actually kept before each day, so it walks each user's
    days in order, carrying the dates of the last kept e-mails in `slots` columns (kept_1 =
    the newest). A day is kept when fewer than weekly_email_cap (a rule, 1 to `slots`, tested
    on the seed) were kept in the 6 days before it: when the cap-th newest kept date is null
    or more than 6 days old.
-#}
{%- set slots = 7 %}
{%- set cap = rule('weekly_email_cap') %}
{%- set cap_th_newest_kept %}case {{ cap }}{% for slot in range(1, slots + 1) %} when {{ slot }} then weekly_walk.kept_{{ slot }}{% endfor %} end{% endset %}
{%- set is_kept -%}
    (
        {{ cap_th_newest_kept }} is null
        or {{ cap_th_newest_kept }} <= {{ dbt.dateadd('day', -7, 'next_day.triggered_on') }}
    )
{%- endset %}

with recursive

candidates as (
    select * from {{ ref('int_email_trigger_candidates') }}
),

users as (
    select * from {{ ref('stg_product__users') }}
),

dim_users as (
    select * from {{ ref('dim_users') }}
),

opt_outs as (
    select * from {{ ref('int_email_opt_outs') }}
),

user_stages as (
    select * from {{ ref('fct_engagement_stages') }}
    where entity_type = 'user'
),

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

with_context as (
    select
        candidates.*,
        trigger_priorities.priority,
        trigger_priorities.email_group,
        trigger_priorities.is_celebration,
        dim_users.is_holdout,
        user_stages.is_dormant,
        users.email
    from candidates
    inner join trigger_priorities
        on candidates.trigger_type = trigger_priorities.trigger_type
    inner join dim_users
        on candidates.user_id = dim_users.user_id
    inner join users
        on candidates.user_id = users.user_id
    left join user_stages
        on
            candidates.user_id = user_stages.entity_id
            and candidates.triggered_on = user_stages.as_of_date
),

first_opt_out as (
    -- an opt-out in force on the trigger's day, if any (one reason, chosen alphabetically)
    select
        with_context.send_key,
        min(opt_outs.opt_out_reason) as opt_out_reason
    from with_context
    inner join opt_outs
        on
            with_context.email = opt_outs.email
            and cast(opt_outs.opted_out_at as date) <= with_context.triggered_on
            and (
                opt_outs.unsubscribe_group is null
                or with_context.email_group = opt_outs.unsubscribe_group
            )
    group by with_context.send_key
),

screened as (
    select
        with_context.*,
        case
            when with_context.is_holdout then 'holdout'
            when first_opt_out.opt_out_reason is not null then first_opt_out.opt_out_reason
            when with_context.is_celebration and with_context.is_dormant then 'dormant'
        end as screened_reason
    from with_context
    left join first_opt_out
        on with_context.send_key = first_opt_out.send_key
),

daily_ranked as (
    select
        *,
        row_number() over (
            partition by user_id, triggered_on
            order by priority desc, send_key asc
        ) as daily_rank
    from screened
    where screened_reason is null
),

daily_winners as (
    select
        send_key,
        user_id,
        triggered_on,
        row_number() over (partition by user_id order by triggered_on) as day_number
    from daily_ranked
    where daily_rank <= {{ rule('daily_email_cap') }}
),

weekly_walk as (
    select
        send_key,
        user_id,
        triggered_on,
        true as is_kept,
        {% for slot in range(1, slots + 1) -%}
        {{ 'triggered_on' if slot == 1 else 'cast(null as date)' }} as kept_{{ slot }},
        {% endfor -%}
        day_number
    from daily_winners
    where day_number = 1

    union all

    select
        next_day.send_key,
        next_day.user_id,
        next_day.triggered_on,
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

final as (
    select
        screened.send_key,
        screened.user_id,
        screened.trigger_type,
        screened.triggered_on,
        screened.period_key,
        screened.priority,
        screened.detail_metric,
        screened.detail_value,
        screened.detail_ladder,
        screened.detail_level,
        screened.detail_badge,
        screened.pinned_recommendation,
        screened.is_holdout,
        case
            when screened.screened_reason is not null then screened.screened_reason
            when daily_ranked.daily_rank > {{ rule('daily_email_cap') }} then 'daily_cap'
            when not weekly_walk.is_kept then 'weekly_cap'
        end as suppressed_reason
    from screened
    left join daily_ranked
        on screened.send_key = daily_ranked.send_key
    left join weekly_walk
        on screened.send_key = weekly_walk.send_key
)

select * from final
