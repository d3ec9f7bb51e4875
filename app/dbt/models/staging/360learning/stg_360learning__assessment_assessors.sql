-- ASSESSMENTS_TRACKINGS.ASSESSORS unnested: one row per element of the array (learnsync's child table
-- assessments_trackings__assessors). List of the assessors' identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'assessments_trackings__assessors') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as assessment_tracking_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as assessor_user_id
    from source

)

select * from renamed
