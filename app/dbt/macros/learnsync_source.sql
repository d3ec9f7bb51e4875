{#
    The one place staging models read a synced table: source('learnsync_<vendor>', table).

    A table learnsync keeps with history (`history = true`: every version of a row, valid_to null for the
    current one) is narrowed here to its current versions, and a child table of such a table to the elements of
    those versions (its `_learnsync_parent_hash` is the parent version's `_learnsync_hash`), so that staging and
    marts keep meaning "the share as it is now". History-aware marts read the versions through
    `learnsync_versions`. Nothing else in the package reads the sources.
#}
{% macro learnsync_source(vendor, table) %}
    {%- set relation = source('learnsync_' ~ vendor, table) -%}
    {%- set parent = table.split('__')[0] -%}
    {%- if parent != table and learnsync_history(vendor, parent) -%}
        {%- set versions = source('learnsync_' ~ vendor, parent) -%}
        {{ return('(select * from ' ~ relation ~ ' where _learnsync_parent_hash in (select _learnsync_hash from '
                  ~ versions ~ ' where valid_to is null)) as learnsync_current') }}
    {%- elif parent == table and learnsync_history(vendor, table) -%}
        {{ return('(select * from ' ~ relation ~ ' where valid_to is null) as learnsync_current') }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}


{#
    Whether learnsync keeps `table` (a parent table) with history: the warehouse is asked whether it has the
    validity columns learnsync adds (valid_to beside _learnsync_hash); without asking (learnsync_introspect
    false), var learnsync_history_tables lists the tables kept with history (e.g. ["courses_trackings"]).
#}
{% macro learnsync_history(vendor, table) %}
    {%- if table in var('learnsync_history_tables', []) -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set columns = learnsync_source_columns(vendor, table) -%}
    {{ return(columns is not none and 'valid_to' in columns and '_learnsync_hash' in columns) }}
{% endmacro %}


{#
    Every version of a table kept with history (valid_from, valid_to: UTC timestamps, valid_to null for the
    current version; learnsync's history mode), or none when the table is not kept with history.
#}
{% macro learnsync_versions(vendor, table) %}
    {%- if learnsync_history(vendor, table) -%}
        {{ return(source('learnsync_' ~ vendor, table)) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{#
    The lower-case column names of a synced table, or none when the package may not ask the warehouse (while
    parsing, or with var learnsync_introspect false, e.g. `dbt compile` without a connection).
#}
{% macro learnsync_source_columns(vendor, table) %}
    {%- if not execute or not (var('learnsync_introspect', true) | as_bool) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(source('learnsync_' ~ vendor, table)) -%}
    {{ return(columns | map(attribute='name') | map('lower') | list) }}
{% endmacro %}


{#
    learnsync's `_learnsync_deleted_at` of a table, as a UTC timestamp; NULL when the table has no such column.

    The column exists only for tables synced with `soft_delete = true` (reconcile then marks rows the share
    deleted instead of deleting them). The warehouse is asked whether the column is there; without asking
    (learnsync_introspect false), var learnsync_soft_delete_tables lists the tables that have it.
#}
{% macro learnsync_deleted_at(vendor, table) %}
    {%- set columns = learnsync_source_columns(vendor, table) -%}
    {%- if columns is none -%}
        {%- set present = table in var('learnsync_soft_delete_tables', []) -%}
    {%- else -%}
        {%- set present = '_learnsync_deleted_at' in columns -%}
    {%- endif -%}
    {%- if present -%}
        {{ learnsync_utc_timestamp('_learnsync_deleted_at') }}
    {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- endif -%}
{% endmacro %}


{#
    An object key's column of a child table, cast to `type`; NULL until the share has sent an object with that
    key (learnsync adds a key's column when it first meets the key). Without asking the warehouse
    (learnsync_introspect false) the column is assumed present.
#}
{% macro learnsync_object_key(vendor, table, key, type, safe=false) %}
    {%- set columns = learnsync_source_columns(vendor, table) -%}
    {%- if columns is none or key in columns -%}
        {%- if safe -%}
            {{ dbt.safe_cast(adapter.quote(key), type) }}
        {%- else -%}
            cast({{ adapter.quote(key) }} as {{ type }})
        {%- endif -%}
    {%- else -%}
        cast(null as {{ type }})
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
