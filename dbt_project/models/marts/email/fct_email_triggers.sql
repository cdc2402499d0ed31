{{
    config(
        materialized='incremental',
        unique_key=['send_key'],
        meta={'window_column': 'triggered_on'},
    )
}}
-- Every e-mail trigger in history with its arbitration outcome: `suppressed_reason` is null
-- when the e-mail will be sent once it is due. Rules, in order: holdout, opt-outs, no
-- celebration for a dormant user, the daily cap (highest priority wins), the rolling 7-day
-- cap (days taken in order). Every trigger, held out or not, has the variant of its e-mail
-- its user gets (int_email_variants, by the hash of the user and the trigger type).
-- Incremental (macros/incremental.sql) on triggered_on: a run arbitrates the triggers of its
-- window, carrying each user's e-mails kept in the 7 days before it into the weekly cap. The
-- personal bests of the week of window_start before the window get their detail_value again
-- (their week's count, int_email_trigger_candidates), and keep their arbitration.

{#- how many kept dates the weekly cap carries: at least the largest weekly_email_cap -#}
{%- set slots = 7 %}
{%- if is_incremental() %}
{%- set window = incremental_window('triggered_on') %}
{%- else %}
{#- a full refresh: every day #}
{%- set window = {'start': "cast('1900-01-01' as date)", 'end': "cast('9999-12-31' as date)"} %}
{%- endif %}
{%- set week_of_window_start = 'cast(' ~ dbt.date_trunc('week', window.start) ~ ' as date)' %}

with recursive

candidates as (
    select * from {{ ref('int_email_trigger_candidates') }}
    where triggered_on between {{ window.start }} and {{ window.end }}
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
    where
        entity_type = 'user'
        and as_of_date between {{ window.start }} and {{ window.end }}
),

trigger_priorities as (
    select * from {{ ref('trigger_priorities') }}
),

variants as (
    select * from {{ ref('int_email_variants') }}
),

{%- if is_incremental() %}

-- the e-mails kept in the 7 days before the window, newest first: the weekly cap's state
kept_before_window as (
    select
        user_id,
        triggered_on,
        row_number() over (partition by user_id order by triggered_on desc) as kept_rank
    from {{ this }}
    where
        suppressed_reason is null
        and triggered_on >= cast({{ dbt.dateadd('day', -7, window.start) }} as date)
        and triggered_on < {{ window.start }}
),

carried_slots as (
    select
        user_id,
        {%- for slot in range(1, slots + 1) %}
        max(case when kept_rank = {{ slot }} then triggered_on end) as kept_{{ slot }}{{ ',' if not loop.last }}
        {%- endfor %}
    from kept_before_window
    group by user_id
),

-- personal bests dated before the window in its first week, whose week's count still grows
personal_bests_to_refresh as (
    select * from {{ ref('int_email_trigger_candidates') }}
    where
        trigger_type = 'personal_best'
        and triggered_on >= {{ week_of_window_start }}
        and triggered_on < {{ window.start }}
),

stored_arbitration as (
    select
        send_key,
        priority,
        is_holdout,
        suppressed_reason,
        variant_id
    from {{ this }}
    where
        trigger_type = 'personal_best'
        and triggered_on >= {{ week_of_window_start }}
        and triggered_on < {{ window.start }}
),
{%- endif %}

with_context as (
    select
        candidates.*,
        trigger_priorities.priority,
        trigger_priorities.email_group,
        trigger_priorities.is_celebration,
        dim_users.is_holdout,
        variants.variant_id,
        user_stages.is_dormant,
        users.email
    from candidates
    inner join trigger_priorities
        on candidates.trigger_type = trigger_priorities.trigger_type
    inner join variants
        on
            candidates.trigger_type = variants.trigger_type
            and {{ email_variant_bucket('candidates.user_id', 'candidates.trigger_type') }} >= variants.bucket_from
            and {{ email_variant_bucket('candidates.user_id', 'candidates.trigger_type') }} < variants.bucket_to
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
        row_number() over (partition by user_id order by triggered_on) as day_number,
        {{ rule('weekly_email_cap') }} as weekly_cap
    from daily_ranked
    where daily_rank <= {{ rule('daily_email_cap') }}
),

-- the weekly cap: weekly_kept (macros/weekly_cap_walk.sql)
{{ weekly_cap_walk(slots) }}

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
        screened.variant_id,
        case
            when screened.screened_reason is not null then screened.screened_reason
            when daily_ranked.daily_rank > {{ rule('daily_email_cap') }} then 'daily_cap'
            when not weekly_kept.is_kept then 'weekly_cap'
        end as suppressed_reason
    from screened
    left join daily_ranked
        on screened.send_key = daily_ranked.send_key
    left join weekly_kept
        on screened.send_key = weekly_kept.send_key
    {%- if is_incremental() %}

    union all

    select
        personal_bests_to_refresh.send_key,
        personal_bests_to_refresh.user_id,
        personal_bests_to_refresh.trigger_type,
        personal_bests_to_refresh.triggered_on,
        personal_bests_to_refresh.period_key,
        stored_arbitration.priority,
        personal_bests_to_refresh.detail_metric,
        personal_bests_to_refresh.detail_value,
        personal_bests_to_refresh.detail_ladder,
        personal_bests_to_refresh.detail_level,
        personal_bests_to_refresh.detail_badge,
        personal_bests_to_refresh.pinned_recommendation,
        stored_arbitration.is_holdout,
        stored_arbitration.variant_id,
        stored_arbitration.suppressed_reason
    from personal_bests_to_refresh
    inner join stored_arbitration
        on personal_bests_to_refresh.send_key = stored_arbitration.send_key
    {%- endif %}
)

select * from final
