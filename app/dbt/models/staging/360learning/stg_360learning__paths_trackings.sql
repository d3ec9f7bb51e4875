-- PATHS_TRACKINGS: Path participation, one line per user per path attempt.
-- Staged: one row per user per path attempt of learnsync's table paths_trackings, columns renamed and cast.
-- Deleted rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'paths_trackings') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as path_tracking_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast({{ adapter.quote('user') }} as {{ dbt.type_string() }}) as user_id,
        cast(path_id as {{ dbt.type_string() }}) as path_id,
        cast(path_session as {{ dbt.type_string() }}) as path_session_id,
        cast(score as {{ dbt.type_bigint() }}) as score,
        cast(progress as {{ dbt.type_bigint() }}) as progress,
        cast(result as {{ dbt.type_string() }}) as result,
        cast(enrolled as {{ dbt.type_boolean() }}) as is_enrolled,
        cast(is_self_enrolled as {{ dbt.type_boolean() }}) as is_self_enrolled,
        cast(enrolled_at as {{ dbt.type_timestamp() }}) as enrolled_at,
        cast(time_spent as {{ dbt.type_bigint() }}) as time_spent_minutes,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(has_certificate as {{ dbt.type_boolean() }}) as has_certificate,
        cast(learner_status as {{ dbt.type_string() }}) as learner_status,
        {{ learnsync_deleted_at('360learning', 'paths_trackings') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
