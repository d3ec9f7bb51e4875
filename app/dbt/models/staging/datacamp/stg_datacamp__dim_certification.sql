-- DIM_CERTIFICATION: Certifications.
-- Staged: one row per certification of learnsync's table dim_certification, columns renamed and cast. Deleted rows
-- are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('datacamp', 'dim_certification') }}

),

renamed as (

    select
        cast(certification_id as {{ dbt.type_bigint() }}) as certification_id,
        cast(name as {{ dbt.type_string() }}) as certification_name,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        {{ learnsync_deleted_at('datacamp', 'dim_certification') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
