-- PATHS.STEPS unnested: one row per element of the array (learnsync's child table paths__steps). List of the
-- steps' identifiers (paths, courses, assessments or classrooms).

with source as (

    select * from {{ learnsync_source('360learning', 'paths__steps') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as path_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as step_id
    from source

)

select * from renamed
