-- XP and engaged minutes per learner per ISO week (Monday), from the learning, DataLab and certification facts.
-- One row per user and week with any event.
--
-- DataCamp's documented rules, applied here: workspace_viewed is a subset of workspace_visited, so DataLab time
-- is the visits' time only (never both); assignment events carry no XP or duration (the learner's interactions
-- with the assigned content do), so they add to assignments_completed only; classic and AI-native variants of a
-- course are separate events, so completing both counts twice in courses_completed; and the facts only hold
-- activity while the user was in the group.

with learn as (

    select
        user_id,
        {{ learnsync_week_start('occurred_at') }} as week_start,
        sum(xp_earned) as learn_xp,
        sum(duration_engaged_seconds) as learn_seconds,
        count(*) as learn_events,
        sum(case when event_name = 'course_completed' then 1 else 0 end) as courses_completed,
        sum(case when event_name in ('assignment_completed', 'assignment_completed_late') then 1 else 0 end)
            as assignments_completed
    from {{ ref('stg_datacamp__fact_learn_events') }}
    group by 1, 2

),

datalab as (

    select
        user_id,
        {{ learnsync_week_start('occurred_at') }} as week_start,
        sum(case when event_name = 'workspace_visited' then duration_engaged_seconds end) as datalab_seconds,
        count(*) as datalab_events
    from {{ ref('stg_datacamp__fact_datalab_events') }}
    group by 1, 2

),

certification as (

    select
        user_id,
        {{ learnsync_week_start('occurred_at') }} as week_start,
        sum(xp_earned) as certification_xp
    from {{ ref('stg_datacamp__fact_certification_events') }}
    group by 1, 2

),

user_weeks as (

    select distinct user_id, week_start
    from (
        select user_id, week_start from learn
        union all
        select user_id, week_start from datalab
        union all
        select user_id, week_start from certification
    ) as all_weeks

),

final as (

    select
        user_weeks.user_id,
        user_weeks.week_start,
        coalesce(learn.learn_xp, 0) + coalesce(certification.certification_xp, 0) as xp_earned,
        coalesce(learn.learn_xp, 0) as learn_xp,
        coalesce(certification.certification_xp, 0) as certification_xp,
        coalesce(learn.learn_seconds, 0) / 60.0 as learn_minutes,
        coalesce(datalab.datalab_seconds, 0) / 60.0 as datalab_minutes,
        (coalesce(learn.learn_seconds, 0) + coalesce(datalab.datalab_seconds, 0)) / 60.0 as engaged_minutes,
        coalesce(learn.learn_events, 0) as learn_events,
        coalesce(datalab.datalab_events, 0) as datalab_events,
        coalesce(learn.courses_completed, 0) as courses_completed,
        coalesce(learn.assignments_completed, 0) as assignments_completed
    from user_weeks
    left join learn
        on learn.user_id = user_weeks.user_id and learn.week_start = user_weeks.week_start
    left join datalab
        on datalab.user_id = user_weeks.user_id and datalab.week_start = user_weeks.week_start
    left join certification
        on certification.user_id = user_weeks.user_id and certification.week_start = user_weeks.week_start

)

select * from final
