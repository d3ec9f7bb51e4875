-- USERS.MANAGERS unnested: one row per element of the array (learnsync's child table users__managers). List of the
-- managers identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'users__managers') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as user_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as manager_user_id
    from source

)

select * from renamed
