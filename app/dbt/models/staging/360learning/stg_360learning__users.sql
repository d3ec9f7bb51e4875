-- USERS: Users, one line per user.
-- Staged: one row per user of learnsync's table users, columns renamed and cast. Deleted rows are kept and flagged
-- (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'users') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as user_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(deleted as {{ dbt.type_boolean() }}) as is_deleted_in_360learning,
        cast(last_log_in_at as {{ dbt.type_timestamp() }}) as last_logged_in_at,
        {{ learnsync_deleted_at('360learning', 'users') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        coalesce(is_deleted_in_360learning, false) or learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
