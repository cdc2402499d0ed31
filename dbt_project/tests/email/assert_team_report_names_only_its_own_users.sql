-- A monthly team report names its top contributors by first name to the recipient: only
-- the first names of users of the recipient's own account. Returns the names that are not.

with

payloads as (
    select * from {{ ref('rpt_email_payloads') }}
    where trigger_type = 'monthly_team_report'
),

users as (
    select * from {{ ref('stg_product__users') }}
),

named as (
    select
        send_key,
        account_id,
        top_contributor_1_name as first_name
    from payloads
    where top_contributor_1_name is not null

    union all

    select
        send_key,
        account_id,
        top_contributor_2_name as first_name
    from payloads
    where top_contributor_2_name is not null

    union all

    select
        send_key,
        account_id,
        top_contributor_3_name as first_name
    from payloads
    where top_contributor_3_name is not null
)

select
    named.send_key,
    named.first_name
from named
left join users
    on
        named.account_id = users.account_id
        and named.first_name = users.first_name
where users.user_id is null
