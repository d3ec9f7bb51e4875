-- DAILY_METRICS.LOGGED_IN_USERS unnested: one row per element of the array (learnsync's child table
-- daily_metrics__logged_in_users). Identifiers of the users that logged in this day.

with source as (

    select * from {{ learnsync_source('360learning', 'daily_metrics__logged_in_users') }}

),

renamed as (

    select
        -- learnsync lands this child key as a timestamp with time zone (the parent's DATE is without one): its
        -- UTC wall clock, so the day does not depend on the session's time zone
        cast({{ learnsync_utc_timestamp('parent_date') }} as date) as activity_date,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as user_id
    from source

)

select * from renamed
