-- DAILY_METRICS: Users who logged into the platform each day, one line per day.
-- Staged: one row per day of learnsync's table daily_metrics, columns renamed and cast. Deleted rows are kept and
-- flagged (is_deleted).

with source as (

    select * from {{ learnsync_source('360learning', 'daily_metrics') }}

),

renamed as (

    select
        cast({{ adapter.quote('date') }} as date) as activity_date,
        {{ learnsync_deleted_at('360learning', 'daily_metrics') }} as learnsync_deleted_at
    from source

),

flagged as (

    select
        *,
        learnsync_deleted_at is not null as is_deleted
    from renamed

)

select * from flagged
