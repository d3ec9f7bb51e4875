-- COURSES_TRACKINGS: Users' attempts on courses, one line per user per course attempt.
-- Staged: one row per user per course attempt of learnsync's table courses_trackings, columns renamed and cast.
-- Deleted rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'courses_trackings') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as course_tracking_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(course as {{ dbt.type_string() }}) as course_id,
        cast({{ adapter.quote('user') }} as {{ dbt.type_string() }}) as user_id,
        cast(score as {{ learnsync_type_float() }}) as score,
        cast(result as {{ dbt.type_string() }}) as result,
        cast(progress as {{ dbt.type_bigint() }}) as progress,
        cast(time_spent as {{ dbt.type_numeric() }}) as time_spent_minutes,
        cast(last_accessed_at as {{ dbt.type_timestamp() }}) as last_accessed_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(context_type as {{ dbt.type_string() }}) as context_type,
        cast(context_id as {{ dbt.type_string() }}) as context_id,
        cast(lang as {{ dbt.type_string() }}) as lang,
        {{ learnsync_deleted_at('360learning', 'courses_trackings') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
