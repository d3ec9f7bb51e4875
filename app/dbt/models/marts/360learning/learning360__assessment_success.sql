-- Assessment success per outline: attempts at each assessment (ASSESSMENTS_TRACKINGS), how many were corrected,
-- passed and failed, the success rate of the corrected ones and their average score. One row per assessment
-- outline, outlines without attempts included.

with outlines as (

    select assessment_outline_id, assessment_outline_name
    from {{ ref('stg_360learning__assessments_outlines') }}
    where not is_deleted

),

users as (

    select user_id, is_deleted
    from {{ ref('stg_360learning__users') }}

),

attempts as (

    select
        trackings.assessment_outline_id,
        trackings.user_id,
        trackings.corrected_at is not null as is_corrected,
        trackings.is_success,
        -- the share's FLOAT scores hold NaN and infinities: an average skips them
        case when {{ learnsync_is_finite('trackings.score') }} then trackings.score end as finite_score
    from {{ ref('stg_360learning__assessments_trackings') }} as trackings
    left join users on users.user_id = trackings.user_id
    where not trackings.is_deleted
      and {{ learnsync_keep_user('users.is_deleted') }}

),

per_outline as (

    select
        assessment_outline_id,
        count(*) as attempts,
        count(distinct user_id) as learners,
        sum(case when is_corrected then 1 else 0 end) as corrected_attempts,
        sum(case when is_corrected and is_success then 1 else 0 end) as passed_attempts,
        sum(case when is_corrected and not is_success then 1 else 0 end) as failed_attempts,
        avg(case when is_corrected then finite_score end) as average_score
    from attempts
    group by assessment_outline_id

),

final as (

    select
        outlines.assessment_outline_id,
        outlines.assessment_outline_name,
        coalesce(per_outline.attempts, 0) as attempts,
        coalesce(per_outline.learners, 0) as learners,
        coalesce(per_outline.corrected_attempts, 0) as corrected_attempts,
        coalesce(per_outline.attempts, 0) - coalesce(per_outline.corrected_attempts, 0) as pending_attempts,
        coalesce(per_outline.passed_attempts, 0) as passed_attempts,
        coalesce(per_outline.failed_attempts, 0) as failed_attempts,
        {{ learnsync_ratio('per_outline.passed_attempts', 'per_outline.corrected_attempts') }} as success_rate,
        per_outline.average_score
    from outlines
    left join per_outline on per_outline.assessment_outline_id = outlines.assessment_outline_id

)

select * from final
