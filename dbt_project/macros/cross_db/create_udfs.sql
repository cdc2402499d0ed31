{#-
    Helper functions some adapters need, created by the `on-run-start` hook of
    dbt_project.yml on every dbt invocation (idempotent: create or replace).

    PostgreSQL 15 has no try_cast and no `IS JSON`: these plpgsql functions return null
    instead of raising on bad input; flywheel_email_hash_key() reads the session's e-mail hash
    key (macros/email_hash.sql). They live in the target schema. Other adapters need
    nothing, so the hook runs a no-op there.
-#}
{% macro create_udfs() -%}
    {{ return(adapter.dispatch('create_udfs', 'flywheel')()) }}
{%- endmacro %}

{% macro default__create_udfs() -%}
    select 1 as flywheel_no_udfs_needed
{%- endmacro %}

{% macro postgres__create_udfs() -%}
    create schema if not exists {{ target.schema }};

    create or replace function {{ target.schema }}.flywheel_try_timestamptz(value text)
    returns timestamptz language plpgsql stable parallel safe as $fn$
    begin
        return value::timestamptz;
    exception when others then
        return null;
    end;
    $fn$;

    create or replace function {{ target.schema }}.flywheel_try_timestamp(value text)
    returns timestamp language plpgsql stable parallel safe as $fn$
    begin
        return value::timestamp;
    exception when others then
        return null;
    end;
    $fn$;

    create or replace function {{ target.schema }}.flywheel_try_jsonb(value text)
    returns jsonb language plpgsql immutable parallel safe as $fn$
    begin
        return value::jsonb;
    exception when others then
        return null;
    end;
    $fn$;

    create or replace function {{ target.schema }}.flywheel_email_hash_key()
    returns text language plpgsql stable parallel safe as $fn$
    declare
        hash_key text := current_setting('flywheel.email_hash_key', true);
    begin
        if coalesce(hash_key, '') = '' then
            raise exception '{{ email_hash_key_missing_message() }}';
        elsif hash_key !~ '^([0-9a-fA-F]{2})+$' then
            raise exception 'the setting flywheel.email_hash_key must be hex digits';
        end if;
        return hash_key;
    end;
    $fn$;
{%- endmacro %}
