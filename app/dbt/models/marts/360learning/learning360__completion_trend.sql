-- Course completion trend: per ISO week (Monday), course attempts created and completed that week and, to
-- date, the share of attempts completed. One row per week from the first to the last week with an attempt
-- created or completed, weeks without any included.
--
-- These figures read the trackings as they are now: 360Learning overwrites a tracking in place, so a week's
-- figures can change after the fact (an attempt completed later counts in the week it was completed, as of
-- today). When learnsync keeps COURSES_TRACKINGS with history (`history = true`), completion_rate_recorded is
-- the rate as the trackings stood at the end of each week (the versions current then); NULL for weeks that
-- ended before the history began, and always NULL without history.
{%- set versions = learnsync_versions('360learning', 'courses_trackings') %}

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

{%- if versions is not none %}

-- each week's end (the next Monday, UTC) and the trackings' versions current then
recorded as (

    select
        weeks.week_start,
        count(versions.id) as attempts_recorded,
        sum(case when versions.completed_at is not null then 1 else 0 end) as completed_recorded
    from weeks
    inner join {{ versions }} as versions
        on {{ learnsync_utc_timestamp('versions.valid_from') }}
            < cast({{ dbt.dateadd('day', 7, 'weeks.week_start') }} as {{ dbt.type_timestamp() }})
        and (versions.valid_to is null
             or {{ learnsync_utc_timestamp('versions.valid_to') }}
                >= cast({{ dbt.dateadd('day', 7, 'weeks.week_start') }} as {{ dbt.type_timestamp() }}))
    left join users on users.user_id = versions.{{ adapter.quote('user') }}
    where {{ learnsync_keep_user('users.is_deleted') }}
    group by weeks.week_start

),
{%- endif %}

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
    final.*,
    {{ learnsync_ratio('attempts_completed_to_date', 'attempts_created_to_date') }} as completion_rate_to_date,
{%- if versions is not none %}
    {{ learnsync_ratio('recorded.completed_recorded', 'recorded.attempts_recorded') }} as completion_rate_recorded
from final
left join recorded on recorded.week_start = final.week_start
{%- else %}
    cast(null as {{ learnsync_type_float() }}) as completion_rate_recorded
from final
{%- endif %}
