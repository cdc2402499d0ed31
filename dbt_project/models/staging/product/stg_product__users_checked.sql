-- Every raw user row with all its quarantine rules applied (null = good): base_product__users'
-- own-table rules, then unknown_account (rules in order: the docs block
-- `quarantine_rules_users`). Locale and time zone are cleaned here, with the seed and the
-- warehouse's time zone list, because stg_product__events_checked needs every good user's
-- time zone for the local activity date.

with

users as (
    select * from {{ ref('base_product__users') }}
),

good_accounts as (
    select * from {{ ref('base_product__accounts') }}
    where quarantine_reason is null
),

supported_locales as (
    select * from {{ ref('supported_locales') }}
),

timezone_names as (
    select * from {{ timezone_names() }} as warehouse_timezone_names
),

default_language as (
    -- exactly one default in the seed (tested); min() keeps this one row regardless
    select min(language) as language
    from supported_locales
    where is_default
),

normalized as (
    select
        *,
        replace(lower(trim(locale_raw)), '_', '-') as locale_normalized,
        trim(timezone_raw) as timezone_trimmed
    from users
),

locale_subtags as (
    select
        *,
        {{ dbt.split_part('locale_normalized', "'-'", 1) }} as locale_subtag_1,
        {{ dbt.split_part('locale_normalized', "'-'", 2) }} as locale_subtag_2,
        {{ dbt.split_part('locale_normalized', "'-'", 3) }} as locale_subtag_3
    from normalized
),

locale_parsed as (
    select
        *,
        case
            when {{ regexp_full_match('locale_subtag_1', '[a-z]{2,3}') }}
                then locale_subtag_1
        end as language_subtag,
        -- BCP-47: language[-script][-region]; the script (4 letters) is dropped
        case
            when {{ regexp_full_match('locale_subtag_2', '[a-z]{2}|[0-9]{3}') }}
                then locale_subtag_2
            when
                {{ regexp_full_match('locale_subtag_2', '[a-z]{4}') }}
                and {{ regexp_full_match('locale_subtag_3', '[a-z]{2}|[0-9]{3}') }}
                then locale_subtag_3
        end as region_subtag
    from locale_subtags
),

cleaned as (
    select
        locale_parsed.*,
        coalesce(supported_locales.language, default_language.language) as language,
        case
            when supported_locales.language is null
                then default_language.language
            when locale_parsed.region_subtag is null
                then locale_parsed.language_subtag
            else locale_parsed.language_subtag || '-' || locale_parsed.region_subtag
        end as locale,
        coalesce(timezone_names.name, 'UTC') as timezone
    from locale_parsed
    cross join default_language
    left join supported_locales
        on locale_parsed.language_subtag = supported_locales.language
    left join timezone_names
        on locale_parsed.timezone_trimmed = timezone_names.name
),

checked as (
    select
        cleaned.*,
        case
            when cleaned.quarantine_reason is not null
                then cleaned.quarantine_reason
            when good_accounts.account_id is null
                then 'unknown_account'
        end as checked_quarantine_reason
    from cleaned
    left join good_accounts
        on cleaned.account_id = good_accounts.account_id
),

final as (
    select
        user_id,
        account_id,
        email,
        first_name,
        locale,
        language,
        locale_raw,
        timezone,
        timezone_raw,
        role,
        created_at,
        source_file,
        source_row,
        loaded_at,
        -- only quarantined rows need it (good rows are in staging); saves a third of the build
        case when checked_quarantine_reason is not null then raw_payload end as raw_payload,
        checked_quarantine_reason as quarantine_reason
    from checked
)

select * from final
