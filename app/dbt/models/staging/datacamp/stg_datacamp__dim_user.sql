-- DIM_USER: Users.
-- Staged: one row per user of learnsync's table dim_user, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('datacamp', 'dim_user') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        {{ learnsync_deleted_at('datacamp', 'dim_user') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
