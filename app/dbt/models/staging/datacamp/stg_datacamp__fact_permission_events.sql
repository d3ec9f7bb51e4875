-- FACT_PERMISSION_EVENTS: Permission, license and invite related events.
-- Staged: one row per event of learnsync's table fact_permission_events, columns renamed and cast.
-- DataCamp's facts only hold activity while the user was part of the group: not a user's whole history.

with source as (

    select * from {{ learnsync_source('datacamp', 'fact_permission_events') }}

),

renamed as (

    select
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        cast(team_id as {{ dbt.type_bigint() }}) as team_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(date_id as {{ dbt.type_bigint() }}) as date_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(invite_id as {{ dbt.type_bigint() }}) as invite_id,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        cast(product as {{ dbt.type_string() }}) as product,
        cast(license as {{ dbt.type_string() }}) as license,
        cast(slug as {{ dbt.type_string() }}) as slug,
        cast(nb_licenses_purchased as {{ dbt.type_bigint() }}) as licenses_purchased
    from source

)

select * from renamed
