-- PROJECTS: Projects, one line per project.
-- Staged: one row per project of learnsync's table projects, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'projects') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as project_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(name as {{ dbt.type_string() }}) as project_name,
        cast({{ adapter.quote('group') }} as {{ dbt.type_string() }}) as group_id,
        {{ learnsync_deleted_at('360learning', 'projects') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
