-- DIM_TRACK: Tracks (versions).
-- Staged: one row per track version of learnsync's table dim_track, columns renamed and cast. Deleted rows are
-- kept and flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('datacamp', 'dim_track') }}

),

renamed as (

    select
        cast(track_version_id as {{ dbt.type_bigint() }}) as track_version_id,
        cast(title as {{ dbt.type_string() }}) as track_title,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        {{ learnsync_deleted_at('datacamp', 'dim_track') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
