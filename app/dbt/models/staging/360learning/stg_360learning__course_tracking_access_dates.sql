-- COURSES_TRACKINGS.ACCESS_DATES unnested: one row per element of the array (learnsync's child table
-- courses_trackings__access_dates). Dates and times at which the user accessed the course.

with source as (

    select * from {{ learnsync_source('360learning', 'courses_trackings__access_dates') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as course_tracking_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        {{ dbt.safe_cast('value', dbt.type_timestamp()) }} as accessed_at
    from source

)

select * from renamed
