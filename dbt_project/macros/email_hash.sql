{#-
    email_hash(expr): the keyed hash of an e-mail address, as BI marts carry it instead of the
    address (dim_users.email_hash, the quarantine's redacted payloads):

        hmac_sha256(normalize_email(expr), <e-mail hash key>)      64 hex digits; null in, null out

    The key is derived from FLYWHEEL_SECRET_KEY (orchestration/email_hash.py). Without it, a
    list of addresses cannot be matched to the hashes, as it could with a plain md5 or sha256.

    The key reaches the database session, not the SQL: dbt writes every statement it runs to
    target/ and logs/, and Dagster keeps dbt's output. `flywheel` (and Dagster) set, for dbt:
    - DuckDB: FLYWHEEL_EMAIL_HASH_KEY, which the profile's plugin
      (orchestration/dbt/duckdb_plugin.py) sets as the session variable flywheel_email_hash_key;
    - PostgreSQL: PGOPTIONS='-c flywheel.email_hash_key=<key>', which libpq passes as a
      setting of each connection (a connection pooler must let the `options` through);
    - Spark: FLYWHEEL_EMAIL_HASH_KEY, which the profile sets as the session's setting
      spark.flywheel.email_hash_key, read through Spark SQL's variable substitution.
    To run dbt by hand, set them to the output of `flywheel email-hash-key` (docs/architecture.md).
-#}
{#- Dispatched directly: sqlfluff's templater cannot nest macros that `return`. -#}
{% macro email_hash(expr) -%}
    {%- set key_hex = adapter.dispatch('email_hash_key', 'flywheel')() -%}
    {{ adapter.dispatch('hmac_sha256', 'flywheel')(normalize_email(expr), key_hex) }}
{%- endmacro %}

{#- The e-mail hash key of the session (hex); an error that says what to do when unset. -#}
{% macro email_hash_key() -%}
    {{ return(adapter.dispatch('email_hash_key', 'flywheel')()) }}
{%- endmacro %}

{% macro email_hash_key_missing_message() -%}
    the e-mail hash key is not set: run dbt through `flywheel` or Dagster, or set FLYWHEEL_EMAIL_HASH_KEY (DuckDB, Spark) or PGOPTIONS="-c flywheel.email_hash_key=..." (PostgreSQL) to the output of `flywheel email-hash-key`
{%- endmacro %}

{% macro duckdb__email_hash_key() -%}
    coalesce(getvariable('flywheel_email_hash_key'), error('{{ email_hash_key_missing_message() }}'))
{%- endmacro %}

{#- flywheel_email_hash_key() comes from create_udfs(): the setting, or that error. -#}
{% macro postgres__email_hash_key() -%}
    {{ target.schema }}.flywheel_email_hash_key()
{%- endmacro %}

{#- The setting, substituted into the statement by Spark as it runs it (not in dbt's SQL text). -#}
{% macro spark__email_hash_key() -%}
    case
        when '${spark.flywheel.email_hash_key}' = ''
            then raise_error('{{ email_hash_key_missing_message() }}')
        when '${spark.flywheel.email_hash_key}' rlike '^([0-9a-fA-F]{2})+$'
            then '${spark.flywheel.email_hash_key}'
        else raise_error('the setting spark.flywheel.email_hash_key must be hex digits')
    end
{%- endmacro %}
