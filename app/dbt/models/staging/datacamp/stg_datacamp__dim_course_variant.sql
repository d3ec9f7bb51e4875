-- DIM_COURSE_VARIANT: Course variants; no timestamp, so no cursor.
-- Staged: one row per course variant of learnsync's table dim_course_variant, columns renamed and cast. Deleted
-- rows are kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('datacamp', 'dim_course_variant') }}

),

renamed as (

    select
        cast(course_variant_id as {{ dbt.type_bigint() }}) as course_variant_id,
        cast(name as {{ dbt.type_string() }}) as course_variant_name,
        {{ learnsync_deleted_at('datacamp', 'dim_course_variant') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
