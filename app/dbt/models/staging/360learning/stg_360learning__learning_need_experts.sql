-- LEARNINGNEEDS.EXPERTS unnested: one row per element of the array (learnsync's child table
-- learningneeds__experts). List of the experts' identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'learningneeds__experts') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as learning_need_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as expert_user_id
    from source

)

select * from renamed
