-- LEARNINGNEEDS.ANSWERS unnested: one row per element of the array (learnsync's child table
-- learningneeds__answers). List of answers.

with source as (

    select * from {{ learnsync_source('360learning', 'learningneeds__answers') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as learning_need_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        cast({{ adapter.quote('user') }} as {{ dbt.type_string() }}) as user_id,
        cast(answer as {{ dbt.type_string() }}) as answer,
        {{ dbt.safe_cast('votes', dbt.type_bigint()) }} as votes
    from source

)

select * from renamed
