-- DIM_CONTENT: Content items (courses, projects, practices, assessments).
-- Staged: one row per content item of learnsync's table dim_content, columns renamed and cast. Deleted rows are
-- kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('datacamp', 'dim_content') }}

),

renamed as (

    select
        cast(content_id as {{ dbt.type_bigint() }}) as content_id,
        cast(title as {{ dbt.type_string() }}) as content_title,
        cast(content_type as {{ dbt.type_string() }}) as content_type,
        cast(technology as {{ dbt.type_string() }}) as technology,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        {{ learnsync_deleted_at('datacamp', 'dim_content') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
