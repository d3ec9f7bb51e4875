-- FACT_CERTIFICATION_EVENTS: Certification events and user interactions on the platform.
-- Staged: one row per event of learnsync's table fact_certification_events, columns renamed and cast.
-- DataCamp's facts only hold activity while the user was part of the group: not a user's whole history.

with source as (

    select * from {{ learnsync_source('datacamp', 'fact_certification_events') }}

),

renamed as (

    select
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(date_id as {{ dbt.type_bigint() }}) as date_id,
        cast(certification_id as {{ dbt.type_bigint() }}) as certification_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(xp_earned as {{ dbt.type_bigint() }}) as xp_earned,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(attempt_id as {{ dbt.type_bigint() }}) as attempt_id
    from source

)

select * from renamed
