-- GROUPS: Groups of the platform, one line per group.
-- Staged: one row per group of learnsync's table groups, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'groups') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as group_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(owner as {{ dbt.type_string() }}) as owner_user_id,
        cast(name as {{ dbt.type_string() }}) as group_name,
        cast(parent_id as {{ dbt.type_string() }}) as parent_group_id,
        {{ learnsync_deleted_at('360learning', 'groups') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
