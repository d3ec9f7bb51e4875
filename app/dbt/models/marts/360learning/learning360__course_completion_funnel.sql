-- Course completion funnel: per course, its attempts (COURSES_TRACKINGS), how many started and completed, the
-- success rate of the completed attempts and the median time spent to complete. One row per course, courses
-- without any attempt included (0 attempts).

with courses as (

    select course_id, course_name, is_archived
    from {{ ref('stg_360learning__courses') }}
    where not is_deleted

),

users as (

    select user_id, is_deleted
    from {{ ref('stg_360learning__users') }}

),

-- the attempts that count: rows still in the share, of users not deleted (see learnsync_keep_user)
attempts as (

    select
        trackings.course_id,
        trackings.user_id,
        trackings.progress,
        trackings.result,
        trackings.time_spent_minutes,
        trackings.completed_at is not null as is_completed
    from {{ ref('stg_360learning__courses_trackings') }} as trackings
    left join users on users.user_id = trackings.user_id
    where not trackings.is_deleted
      and {{ learnsync_keep_user('users.is_deleted') }}

),

per_course as (

    select
        course_id,
        count(*) as attempts,
        count(distinct user_id) as learners,
        sum(case when progress > 0 then 1 else 0 end) as started_attempts,
        sum(case when is_completed then 1 else 0 end) as completed_attempts,
        sum(case when is_completed and result = 'success' then 1 else 0 end) as successful_attempts
    from attempts
    group by course_id

),

-- the median by position (the middle value, or the mean of the two middle ones): exact on every warehouse,
-- unlike percentile functions, which BigQuery only has as window or approximate aggregates
completed_ranked as (

    select
        course_id,
        time_spent_minutes,
        row_number() over (partition by course_id order by time_spent_minutes) as position_in_course,
        count(*) over (partition by course_id) as completed_with_time
    from attempts
    where is_completed and time_spent_minutes is not null

),

medians as (

    select
        course_id,
        avg(time_spent_minutes) as median_time_spent_minutes
    from completed_ranked
    where position_in_course in (
        floor((completed_with_time + 1) / 2.0),
        floor((completed_with_time + 2) / 2.0)
    )
    group by course_id

),

final as (

    select
        courses.course_id,
        courses.course_name,
        courses.is_archived,
        coalesce(per_course.attempts, 0) as attempts,
        coalesce(per_course.learners, 0) as learners,
        coalesce(per_course.started_attempts, 0) as started_attempts,
        coalesce(per_course.completed_attempts, 0) as completed_attempts,
        coalesce(per_course.successful_attempts, 0) as successful_attempts,
        {{ learnsync_ratio('per_course.completed_attempts', 'per_course.attempts') }} as completion_rate,
        {{ learnsync_ratio('per_course.successful_attempts', 'per_course.completed_attempts') }} as success_rate,
        medians.median_time_spent_minutes
    from courses
    left join per_course on per_course.course_id = courses.course_id
    left join medians on medians.course_id = courses.course_id

)

select * from final
