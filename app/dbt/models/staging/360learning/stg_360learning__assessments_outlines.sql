-- ASSESSMENTS_OUTLINES: Assessment outlines, one line per assessment.
-- Staged: one row per assessment outline of learnsync's table assessments_outlines, columns renamed and cast.
-- Deleted rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'assessments_outlines') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as assessment_outline_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(name as {{ dbt.type_string() }}) as assessment_outline_name,
        cast(assessor_instructions as {{ dbt.type_string() }}) as assessor_instructions,
        cast(learner_instructions as {{ dbt.type_string() }}) as learner_instructions,
        {{ learnsync_deleted_at('360learning', 'assessments_outlines') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
