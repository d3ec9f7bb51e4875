-- CLASSROOMS: Classrooms, one line per classroom.
-- Staged: one row per classroom of learnsync's table classrooms, columns renamed and cast. Deleted rows are kept
-- and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'classrooms') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as classroom_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(name as {{ dbt.type_string() }}) as classroom_name,
        cast(medias as {{ dbt.type_string() }}) as medias,
        cast(is_virtual as {{ dbt.type_boolean() }}) as is_virtual,
        {{ learnsync_deleted_at('360learning', 'classrooms') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
