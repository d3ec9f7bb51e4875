-- ASSESSMENTS_TRACKINGS: Assessment metrics per user, one line per user per assessment attempt.
-- Staged: one row per user per assessment attempt of learnsync's table assessments_trackings, columns renamed and
-- cast. Deleted rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'assessments_trackings') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as assessment_tracking_id,
        cast(assessment_outline_id as {{ dbt.type_string() }}) as assessment_outline_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast({{ adapter.quote('user') }} as {{ dbt.type_string() }}) as user_id,
        cast(context_type as {{ dbt.type_string() }}) as context_type,
        cast(context_id as {{ dbt.type_string() }}) as context_id,
        cast(corrected_at as {{ dbt.type_timestamp() }}) as corrected_at,
        cast(score as {{ learnsync_type_float() }}) as score,
        cast(success as {{ dbt.type_boolean() }}) as is_success,
        cast(corrected_by as {{ dbt.type_string() }}) as corrected_by_user_id,
        {{ learnsync_deleted_at('360learning', 'assessments_trackings') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
