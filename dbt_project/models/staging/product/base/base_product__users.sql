-- Every raw user row, typed and cleaned, with the first quarantine rule it breaks
-- (null = good). Rules, in order: see the docs block `quarantine_rules_users`.
-- Locale and time zone are cleaned here (not in staging) because base_product__events
-- needs every good user's time zone for the local activity date.

with

source as (
    select * from {{ source('product', 'users') }}
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

typed as (
    select
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('account_id') }} as account_id,
        {{ normalize_email('email') }} as email,
        {{ clean_text('first_name') }} as first_name,
        locale as locale_raw,
        replace(lower(trim(locale)), '_', '-') as locale_normalized,
        timezone as timezone_raw,
        trim(timezone) as timezone_trimmed,
        {{ clean_text('role') }} as role,
        {{ try_parse_timestamp_utc('created_at') }} as created_at,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        {{ json_object_from_columns([
            'user_id', 'account_id', 'email', 'first_name',
            'locale', 'timezone', 'role', 'created_at',
        ]) }} as raw_payload
    from source
),

locale_subtags as (
    select
        *,
        {{ dbt.split_part('locale_normalized', "'-'", 1) }} as locale_subtag_1,
        {{ dbt.split_part('locale_normalized', "'-'", 2) }} as locale_subtag_2,
        {{ dbt.split_part('locale_normalized', "'-'", 3) }} as locale_subtag_3
    from typed
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

ranked as (
    select
        *,
        -- copies are counted among rows that passed missing_id (the rule before)
        row_number() over (
            partition by user_id, account_id is null
            order by loaded_at, source_file, source_row
        ) as user_id_copy_number
    from cleaned
),

checked as (
    select
        ranked.*,
        case
            when ranked.user_id is null or ranked.account_id is null
                then 'missing_id'
            when ranked.user_id_copy_number > 1
                then 'duplicate_id'
            when ranked.created_at is null
                then 'invalid_timestamp'
            when not {{ is_valid_email('ranked.email') }}
                then 'invalid_email'
            when good_accounts.account_id is null
                then 'unknown_account'
        end as quarantine_reason
    from ranked
    left join good_accounts
        on ranked.account_id = good_accounts.account_id
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
        case when quarantine_reason is not null then raw_payload end as raw_payload,
        quarantine_reason
    from checked
)

select * from final
