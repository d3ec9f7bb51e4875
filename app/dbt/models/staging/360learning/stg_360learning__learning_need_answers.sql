-- LEARNINGNEEDS.ANSWERS unnested: one row per element of the array (learnsync's child table
-- learningneeds__answers). List of answers.

with source as (

    select * from {{ learnsync_source('360learning', 'learningneeds__answers') }}

),

renamed as (

    select
        cast(parent_id as {{ dbt.type_string() }}) as learning_need_id,
        cast({{ adapter.quote('position') }} as {{ dbt.type_bigint() }}) as position,
        {{ learnsync_object_key('360learning', 'learningneeds__answers', 'user', dbt.type_string()) }} as user_id,
        {{ learnsync_object_key('360learning', 'learningneeds__answers', 'answer', dbt.type_string()) }} as answer,
        -- object values land as text: a count that is not a number becomes NULL
        {{ learnsync_object_key('360learning', 'learningneeds__answers', 'votes', dbt.type_bigint(), safe=true) }} as votes
    from source

)

select * from renamed
