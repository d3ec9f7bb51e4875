-- PATHS_SESSIONS: Path sessions, one line per path session.
-- Staged: one row per path session of learnsync's table paths_sessions, columns renamed and cast. Deleted rows are
-- kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'paths_sessions') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as path_session_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(name as {{ dbt.type_string() }}) as path_session_name,
        cast(start_date as {{ dbt.type_timestamp() }}) as starts_at,
        cast(end_date as {{ dbt.type_timestamp() }}) as ends_at,
        cast({{ adapter.quote('path') }} as {{ dbt.type_string() }}) as path_id,
        cast(main_instructor as {{ dbt.type_string() }}) as main_instructor_user_id,
        cast(owner_group as {{ dbt.type_string() }}) as owner_group_id,
        cast(modified_at as {{ dbt.type_timestamp() }}) as modified_at,
        {{ learnsync_deleted_at('360learning', 'paths_sessions') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
