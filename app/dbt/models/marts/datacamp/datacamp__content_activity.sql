-- Activity per content item and course variant, from the learning facts: starts, completions, learners, XP and
-- engaged minutes. One row per content_id and course_variant_id (NULL for content that has no variants).
--
-- DataCamp hard-deletes some content from dim_content but keeps its events, which still hold real XP and
-- time: they are kept here (left join), with is_content_deleted true and no title. Classic and AI-native
-- variants of a course are separate rows. The facts only hold activity while the user was in the group.

with events as (

    select *
    from {{ ref('stg_datacamp__fact_learn_events') }}
    where content_id is not null

),

content as (

    select content_id, content_title, content_type, technology
    from {{ ref('stg_datacamp__dim_content') }}

),

variants as (

    select course_variant_id, course_variant_name
    from {{ ref('stg_datacamp__dim_course_variant') }}

),

per_content as (

    select
        content_id,
        course_variant_id,
        count(*) as events,
        count(distinct user_id) as learners,
        sum(case when event_name in ('course_started', 'assessment_started', 'project_started') then 1 else 0 end)
            as starts,
        sum(case when event_name in (
            'course_completed', 'assessment_completed', 'practice_completed', 'project_completed'
        ) then 1 else 0 end) as completions,
        sum(xp_earned) as xp_earned,
        sum(duration_engaged_seconds) / 60.0 as engaged_minutes
    from events
    group by content_id, course_variant_id

),

final as (

    select
        per_content.content_id,
        per_content.course_variant_id,
        variants.course_variant_name,
        content.content_title,
        content.content_type,
        content.technology,
        content.content_id is null as is_content_deleted,
        per_content.events,
        per_content.learners,
        per_content.starts,
        per_content.completions,
        coalesce(per_content.xp_earned, 0) as xp_earned,
        coalesce(per_content.engaged_minutes, 0) as engaged_minutes
    from per_content
    left join content on content.content_id = per_content.content_id
    left join variants on variants.course_variant_id = per_content.course_variant_id

)

select * from final
