-- PATHS: Paths, one line per path.
-- Staged: one row per path of learnsync's table paths, columns renamed and cast. Deleted rows are kept and flagged
-- (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'paths') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as path_id,
        cast(name as {{ dbt.type_string() }}) as path_name,
        cast(author as {{ dbt.type_string() }}) as author_user_id,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(source_lang as {{ dbt.type_string() }}) as source_lang,
        cast(modified_at as {{ dbt.type_timestamp() }}) as modified_at,
        cast(owner_group as {{ dbt.type_string() }}) as owner_group_id,
        cast(duration as {{ dbt.type_bigint() }}) as duration_hours,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(additional_information as {{ dbt.type_string() }}) as additional_information,
        {{ learnsync_deleted_at('360learning', 'paths') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
