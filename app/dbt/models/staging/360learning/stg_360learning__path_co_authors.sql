-- PATHS.CO_AUTHORS unnested: one row per element of the array (learnsync's child table paths__co_authors). List of
-- the co-authors identifiers.

with source as (

    select * from {{ learnsync_source('360learning', 'paths__co_authors') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as path_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast(value as {{ dbt.type_string() }}) as co_author_user_id
    from source

)

select * from renamed
