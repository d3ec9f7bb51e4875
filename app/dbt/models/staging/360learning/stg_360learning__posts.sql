-- POSTS: Posts, one line per post.
-- Staged: one row per post of learnsync's table posts, columns renamed and cast. Deleted rows are kept and flagged
-- (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'posts') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as post_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(author as {{ dbt.type_string() }}) as author_user_id,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast({{ adapter.quote('group') }} as {{ dbt.type_string() }}) as group_id,
        cast(course_id as {{ dbt.type_string() }}) as course_id,
        cast(comment as {{ dbt.type_string() }}) as comment,
        {{ learnsync_deleted_at('360learning', 'posts') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
