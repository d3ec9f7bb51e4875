-- DataCamp keeps the events of content it hard-deleted from dim_content: the mart must count every learning
-- event that names a content item, found in dim_content or not. Fails with the two counts when they differ.

with in_facts as (

    select count(*) as events
    from {{ ref('stg_datacamp__fact_learn_events') }}
    where content_id is not null

),

in_mart as (

    select coalesce(sum(events), 0) as events
    from {{ ref('datacamp__content_activity') }}

)

select in_facts.events as fact_events, in_mart.events as mart_events
from in_facts
cross join in_mart
where in_facts.events <> in_mart.events
