-- FACT_DATALAB_EVENTS: Events related to interactions within DataLab.
-- Staged: one row per event of learnsync's table fact_datalab_events, columns renamed and cast.
-- DataCamp's facts only hold activity while the user was part of the group: not a user's whole history.

with source as (

    select * from {{ learnsync_source('datacamp', 'fact_datalab_events') }}

),

renamed as (

    select
        cast(group_id as {{ dbt.type_bigint() }}) as group_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(date_id as {{ dbt.type_bigint() }}) as date_id,
        cast(workbook_id as {{ dbt.type_string() }}) as workbook_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(duration_engaged as {{ dbt.type_bigint() }}) as duration_engaged_seconds
    from source

)

select * from renamed
