-- USERS.CUSTOMFIELDS unnested: one row per element of the array (learnsync's child table users__customfields).
-- List of custom fields added to the user profile.

with source as (

    select * from {{ learnsync_source('360learning', 'users__customfields') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as user_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        {{ learnsync_object_key('360learning', 'users__customfields', 'name', dbt.type_string()) }} as field_name,
        {{ learnsync_object_key('360learning', 'users__customfields', 'value', dbt.type_string()) }} as field_value
    from source

)

select * from renamed
