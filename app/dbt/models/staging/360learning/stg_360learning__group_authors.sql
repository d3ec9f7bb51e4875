-- GROUPS.AUTHORS unnested: one row per element of the array (learnsync's child table groups__authors). List of the
-- group authors identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'groups__authors') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as group_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as author_user_id
    from source

)

select * from renamed
