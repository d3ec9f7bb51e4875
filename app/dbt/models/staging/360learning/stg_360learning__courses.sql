-- COURSES: Courses, one line per course.
-- Staged: one row per course of learnsync's table courses, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'courses') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as course_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(name as {{ dbt.type_string() }}) as course_name,
        cast(is_scorm as {{ dbt.type_boolean() }}) as is_scorm,
        cast(author as {{ dbt.type_string() }}) as author_user_id,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(modified_at as {{ dbt.type_timestamp() }}) as modified_at,
        cast(source_lang as {{ dbt.type_string() }}) as source_lang,
        cast(course_duration as {{ dbt.type_bigint() }}) as course_duration,
        cast(external_content as {{ dbt.type_string() }}) as external_content,
        cast(archived as {{ dbt.type_boolean() }}) as is_archived,
        {{ learnsync_deleted_at('360learning', 'courses') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
