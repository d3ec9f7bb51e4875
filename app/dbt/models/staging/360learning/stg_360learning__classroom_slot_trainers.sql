-- CLASSROOMSLOTS.TRAINERS unnested: one row per element of the array (learnsync's child table
-- classroomslots__trainers). List of trainers identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'classroomslots__trainers') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as classroom_slot_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as trainer_user_id
    from source

)

select * from renamed
