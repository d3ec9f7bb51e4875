-- COURSES.SKILLS unnested: one row per element of the array (learnsync's child table courses__skills). List of
-- skills identified for the course.

with source as (

    select * from {{ learnsync_source('360learning', 'courses__skills') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as course_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as skill_id
    from source

)

select * from renamed
