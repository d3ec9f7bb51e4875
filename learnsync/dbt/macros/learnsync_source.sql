{#
    The one place staging models read a synced table: source('learnsync_<vendor>', table).

    History mode (issue 15, part 1) plugs in here: when learnsync keeps every version of a table's rows,
    this macro is where the staging model gets the current version of each row (valid_to is null), so that
    staging and marts keep meaning "the share as it is now"; history-aware marts read the versions through a
    macro of their own. Nothing else in the package reads the sources.
#}
{% macro learnsync_source(vendor, table) %}
    {{ return(source('learnsync_' ~ vendor, table)) }}
{% endmacro %}


{#
    learnsync's `_learnsync_deleted_at` of a table, as a UTC timestamp; NULL when the table has no such column.

    The column exists only for tables synced with `soft_delete = true` (reconcile then marks rows the share
    deleted instead of deleting them). By default the warehouse is asked whether the column is there; the var
    learnsync_soft_delete_tables (a list of table names) answers without a connection.
#}
{% macro learnsync_deleted_at(vendor, table) %}
    {%- set listed = var('learnsync_soft_delete_tables', none) -%}
    {%- if listed is not none -%}
        {%- set present = table in listed -%}
    {%- elif execute -%}
        {%- set columns = adapter.get_columns_in_relation(source('learnsync_' ~ vendor, table)) -%}
        {%- set present = '_learnsync_deleted_at' in (columns | map(attribute='name') | map('lower') | list) -%}
    {%- else -%}
        {%- set present = false -%}
    {%- endif -%}
    {%- if present -%}
        {{ learnsync_utc_timestamp('_learnsync_deleted_at') }}
    {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- endif -%}
{% endmacro %}


{#
    A predicate that keeps a row of a user in a 360Learning mart: true unless the user is flagged deleted
    (and var learnsync_include_deleted_users is false). `is_deleted` is NULL for ids the users table lacks:
    their activity is kept.
#}
{% macro learnsync_keep_user(is_deleted) %}
    {%- if var('learnsync_include_deleted_users', false) | as_bool -%}
        true
    {%- else -%}
        coalesce(not {{ is_deleted }}, true)
    {%- endif -%}
{% endmacro %}
