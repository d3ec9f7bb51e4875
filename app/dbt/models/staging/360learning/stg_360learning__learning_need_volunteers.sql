-- LEARNINGNEEDS.VOLUNTEERS unnested: one row per element of the array (learnsync's child table
-- learningneeds__volunteers). List of the volunteers' identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'learningneeds__volunteers') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as learning_need_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as volunteer_user_id
    from source

)

select * from renamed
