-- REACTIONS: Reactions, one line per reaction.
-- Staged: one row per reaction of learnsync's table reactions, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'reactions') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as reaction_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(author_id as {{ dbt.type_string() }}) as author_user_id,
        cast(group_id as {{ dbt.type_string() }}) as group_id,
        cast(course_id as {{ dbt.type_string() }}) as course_id,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(collection as {{ dbt.type_string() }}) as collection,
        cast(archived_at as {{ dbt.type_timestamp() }}) as archived_at,
        {{ learnsync_deleted_at('360learning', 'reactions') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
