-- PATHS_SESSIONS.INSTRUCTORS unnested: one row per element of the array (learnsync's child table
-- paths_sessions__instructors). List of the co-instructors' identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'paths_sessions__instructors') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as path_session_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as instructor_user_id
    from source

)

select * from renamed
