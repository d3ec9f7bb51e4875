-- FACT_LEARN_EVENTS: Learning events and user interactions on the platform.
-- Staged: one row per event of learnsync's table fact_learn_events, columns renamed and cast.
-- DataCamp's facts only hold activity while the user was part of the group: not a user's whole history.

with source as (

    select * from {{ learnsync_source('datacamp', 'fact_learn_events') }}

),

renamed as (

    select
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(date_id as {{ dbt.type_bigint() }}) as date_id,
        cast(content_id as {{ dbt.type_bigint() }}) as content_id,
        cast(course_variant_id as {{ dbt.type_bigint() }}) as course_variant_id,
        cast(track_version_id as {{ dbt.type_bigint() }}) as track_version_id,
        cast(assignment_id as {{ dbt.type_bigint() }}) as assignment_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(xp_earned as {{ dbt.type_bigint() }}) as xp_earned,
        cast(duration_engaged as {{ dbt.type_bigint() }}) as duration_engaged_seconds,
        cast(assessment_score as {{ dbt.type_bigint() }}) as assessment_score,
        cast(assessment_percentile as {{ learnsync_type_float() }}) as assessment_percentile,
        cast(assessment_knowledge_level as {{ dbt.type_string() }}) as assessment_knowledge_level,
        cast(course_is_skipped as {{ dbt.type_boolean() }}) as is_course_skipped
    from source

)

select * from renamed
