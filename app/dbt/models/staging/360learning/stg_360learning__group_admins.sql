-- GROUPS.ADMINS unnested: one row per element of the array (learnsync's child table groups__admins). List of the
-- group administrators identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'groups__admins') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as group_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as admin_user_id
    from source

)

select * from renamed
