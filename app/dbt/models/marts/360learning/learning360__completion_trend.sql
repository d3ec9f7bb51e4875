-- Course completion trend: per ISO week (Monday), course attempts created and completed that week and, to
-- date, the share of attempts completed. One row per week from the first to the last week with an attempt
-- created or completed, weeks without any included.
--
-- This plain version reads the trackings as they are now: 360Learning overwrites a tracking in place, so a week's
-- figures can change after the fact (an attempt completed later counts in the week it was completed, as of
-- today). The history-aware variant, which reads the versions history mode keeps, comes with history mode.

with users as (

    select user_id, is_deleted
    from {{ ref('stg_360learning__users') }}

),

attempts as (

    select
        {{ learnsync_week_start('trackings.created_at') }} as created_week,
        {{ learnsync_week_start('trackings.completed_at') }} as completed_week
    from {{ ref('stg_360learning__courses_trackings') }} as trackings
    left join users on users.user_id = trackings.user_id
    where not trackings.is_deleted
      and {{ learnsync_keep_user('users.is_deleted') }}

),

created_per_week as (

    select created_week as week_start, count(*) as attempts_created
    from attempts
    where created_week is not null
    group by created_week

),

completed_per_week as (

    select completed_week as week_start, count(*) as attempts_completed
    from attempts
    where completed_week is not null
    group by completed_week

),

bounds as (

    select min(week_start) as first_week, max(week_start) as last_week
    from (
        select week_start from created_per_week
        union all
        select week_start from completed_per_week
    ) as weeks_with_data

),

day_offsets as (

    {{ learnsync_day_offsets() }}

),

-- every Monday between the first and the last week
weeks as (

    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_week') }} as date) as week_start
    from bounds
    cross join day_offsets
    where mod(day_offsets.day_offset, 7) = 0
      and day_offsets.day_offset <= {{ dbt.datediff('bounds.first_week', 'bounds.last_week', 'day') }}

),

weekly as (

    select
        weeks.week_start,
        coalesce(created_per_week.attempts_created, 0) as attempts_created,
        coalesce(completed_per_week.attempts_completed, 0) as attempts_completed
    from weeks
    left join created_per_week on created_per_week.week_start = weeks.week_start
    left join completed_per_week on completed_per_week.week_start = weeks.week_start

),

final as (

    select
        week_start,
        attempts_created,
        attempts_completed,
        sum(attempts_created) over (order by week_start rows between unbounded preceding and current row)
            as attempts_created_to_date,
        sum(attempts_completed) over (order by week_start rows between unbounded preceding and current row)
            as attempts_completed_to_date
    from weekly

)

select
    *,
    {{ learnsync_ratio('attempts_completed_to_date', 'attempts_created_to_date') }} as completion_rate_to_date
from final
