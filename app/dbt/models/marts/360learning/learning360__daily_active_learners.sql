-- Daily active learners: how many distinct learners logged in each day (DAILY_METRICS.LOGGED_IN_USERS), the
-- first chart of 360Learning's Data Connect use cases. One row per day the share reports, 0 when nobody logged in.

with days as (

    select activity_date
    from {{ ref('stg_360learning__daily_metrics') }}
    where not is_deleted

),

logins as (

    select activity_date, user_id
    from {{ ref('stg_360learning__daily_logged_in_users') }}

),

users as (

    select user_id, is_deleted
    from {{ ref('stg_360learning__users') }}

),

-- a learner listed twice in one day counts once; deleted users are left out unless
-- var learnsync_include_deleted_users is true
learners as (

    select distinct logins.activity_date, logins.user_id
    from logins
    left join users on users.user_id = logins.user_id
    where {{ learnsync_keep_user('users.is_deleted') }}

),

final as (

    select
        days.activity_date,
        count(learners.user_id) as active_learners
    from days
    left join learners on learners.activity_date = days.activity_date
    group by days.activity_date

)

select * from final
