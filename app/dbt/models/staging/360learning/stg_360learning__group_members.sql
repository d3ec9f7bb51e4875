-- GROUPS.USERS unnested: one row per element of the array (learnsync's child table groups__users). List of the
-- learners identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'groups__users') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as group_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as user_id
    from source

)

select * from renamed
