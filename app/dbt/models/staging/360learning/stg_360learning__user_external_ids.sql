-- USERS.EXTERNAL_IDS unnested: one row per element of the array (learnsync's child table users__external_ids).
-- List of the user external identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'users__external_ids') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as user_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as external_id
    from source

)

select * from renamed
