-- CLASSROOMSLOTS: Classroom slots, one line per classroom slot.
-- Staged: one row per classroom slot of learnsync's table classroomslots, columns renamed and cast. Deleted rows
-- are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'classroomslots') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as classroom_slot_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(start_date as {{ dbt.type_timestamp() }}) as starts_at,
        cast(end_date as {{ dbt.type_timestamp() }}) as ends_at,
        cast(classroom as {{ dbt.type_string() }}) as classroom_id,
        cast(name as {{ dbt.type_string() }}) as classroom_slot_name,
        cast(is_virtual as {{ dbt.type_boolean() }}) as is_virtual,
        cast(location as {{ dbt.type_string() }}) as location,
        cast(reported_duration as {{ dbt.type_bigint() }}) as reported_duration_hours,
        {{ learnsync_deleted_at('360learning', 'classroomslots') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
