-- CLASSROOMS_TRACKINGS: Classroom participation, one line per classroom per user.
-- Staged: one row per user per classroom of learnsync's table classrooms_trackings, columns renamed and cast.
-- Deleted rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'classrooms_trackings') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as classroom_tracking_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast({{ adapter.quote('user') }} as {{ dbt.type_string() }}) as user_id,
        cast(classroomslot as {{ dbt.type_string() }}) as classroom_slot_id,
        cast(classroom as {{ dbt.type_string() }}) as classroom_id,
        cast(has_attended as {{ dbt.type_boolean() }}) as has_attended,
        cast(context_type as {{ dbt.type_string() }}) as context_type,
        cast(context_id as {{ dbt.type_string() }}) as context_id,
        {{ learnsync_deleted_at('360learning', 'classrooms_trackings') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
