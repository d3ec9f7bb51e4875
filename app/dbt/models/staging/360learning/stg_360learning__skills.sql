-- SKILLS: Skills, one line per skill.
-- Staged: one row per skill of learnsync's table skills, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'skills') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_string() }}) as skill_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(author as {{ dbt.type_string() }}) as author_user_id,
        cast(name as {{ dbt.type_string() }}) as skill_name,
        cast(external_id as {{ dbt.type_string() }}) as external_id,
        {{ learnsync_deleted_at('360learning', 'skills') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
