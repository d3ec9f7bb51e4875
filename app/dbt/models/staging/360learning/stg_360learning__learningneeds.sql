-- LEARNINGNEEDS: Learning needs, one line per learning need.
-- Staged: one row per learning need of learnsync's table learningneeds, columns renamed and cast. Deleted rows are
-- kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'learningneeds') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as learning_need_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(name as {{ dbt.type_string() }}) as learning_need_name,
        cast(status as {{ dbt.type_string() }}) as status,
        cast({{ adapter.quote('group') }} as {{ dbt.type_string() }}) as group_id,
        cast(deleted_at as {{ dbt.type_timestamp() }}) as deleted_at,
        cast(declared_by as {{ dbt.type_string() }}) as declared_by_user_id,
        {{ learnsync_deleted_at('360learning', 'learningneeds') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        deleted_at is not null or learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
