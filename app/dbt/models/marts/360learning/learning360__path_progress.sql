-- Path progress per learner: for every learner and path they are tracked in (PATHS_TRACKINGS), where their
-- latest attempt stands, their best progress, time spent and whether and when they completed the path.
-- One row per learner and path.

with trackings as (

    select *
    from {{ ref('stg_360learning__paths_trackings') }}
    where not is_deleted

),

users as (

    select user_id, is_deleted
    from {{ ref('stg_360learning__users') }}

),

paths as (

    select path_id, path_name
    from {{ ref('stg_360learning__paths') }}

),

learner_trackings as (

    select trackings.*
    from trackings
    left join users on users.user_id = trackings.user_id
    where {{ learnsync_keep_user('users.is_deleted') }}

),

-- the latest attempt: the most recent enrolment (then creation), the tracking id breaking ties
ranked as (

    select
        *,
        row_number() over (
            partition by user_id, path_id
            order by
                case when enrolled_at is null then 1 else 0 end, enrolled_at desc,
                case when created_at is null then 1 else 0 end, created_at desc,
                path_tracking_id desc
        ) as recency
    from learner_trackings

),

per_learner_path as (

    select
        user_id,
        path_id,
        count(*) as attempts,
        max(progress) as best_progress,
        sum(time_spent_minutes) as time_spent_minutes,
        min(completed_at) as first_completed_at,
        max(case when has_certificate then 1 else 0 end) = 1 as has_certificate
    from learner_trackings
    group by user_id, path_id

),

latest as (

    select
        user_id,
        path_id,
        path_tracking_id as latest_path_tracking_id,
        path_session_id as latest_path_session_id,
        enrolled_at as latest_enrolled_at,
        progress as latest_progress,
        result as latest_result,
        learner_status as latest_learner_status
    from ranked
    where recency = 1

),

final as (

    select
        per_learner_path.user_id,
        per_learner_path.path_id,
        paths.path_name,
        per_learner_path.attempts,
        latest.latest_path_tracking_id,
        latest.latest_path_session_id,
        latest.latest_enrolled_at,
        latest.latest_progress,
        latest.latest_result,
        latest.latest_learner_status,
        per_learner_path.best_progress,
        per_learner_path.time_spent_minutes,
        per_learner_path.first_completed_at is not null as is_completed,
        per_learner_path.first_completed_at,
        per_learner_path.has_certificate
    from per_learner_path
    inner join latest
        on latest.user_id = per_learner_path.user_id
        and latest.path_id = per_learner_path.path_id
    left join paths on paths.path_id = per_learner_path.path_id

)

select * from final
