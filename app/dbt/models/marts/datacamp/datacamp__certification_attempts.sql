-- The certification funnel per attempt: every event of one attempt stitched on attempt_id, as DataCamp
-- documents (the milestone events and the skill assessment, project and case study components share it).
-- One row per attempt: when it was registered, how far each component got and how it ended (granted, failed,
-- expired, withdrawn, or in_progress while no milestone has ended it).

with events as (

    select *
    from {{ ref('stg_datacamp__fact_certification_events') }}

),

certifications as (

    select certification_id, certification_name
    from {{ ref('stg_datacamp__dim_certification') }}

),

per_attempt as (

    select
        attempt_id,
        max(user_id) as user_id,
        max(group_id) as group_id,
        max(certification_id) as certification_id,
        min(case when event_name = 'certification_registered' then occurred_at end) as registered_at,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        count(*) as events,
        sum(xp_earned) as xp_earned,
        max(case when event_name = 'certification_skill_assessment_registered' then 1 else 0 end) = 1
            as skill_assessment_registered,
        max(case when event_name = 'certification_project_registered' then 1 else 0 end) = 1
            as project_registered,
        max(case when event_name = 'certification_case_study_registered' then 1 else 0 end) = 1
            as case_study_registered
    from events
    group by attempt_id

),

-- the outcome events of the components, each with its family
outcome_events as (

    select
        attempt_id,
        occurred_at,
        event_name,
        case
            when event_name like 'certification_skill_assessment%' then 'skill_assessment'
            when event_name like 'certification_project%' then 'project'
            else 'case_study'
        end as component,
        case
            when event_name like '%passed' then 'passed'
            when event_name like '%failed' then 'failed'
            else 'expired'
        end as outcome
    from events
    where event_name in (
        'certification_skill_assessment_passed', 'certification_skill_assessment_failed',
        'certification_project_passed', 'certification_project_failed', 'certification_project_expired',
        'certification_case_study_passed', 'certification_case_study_failed'
    )

),

-- the last outcome of each component (a retaken skill assessment ends with its last result)
component_outcomes as (

    select
        *,
        row_number() over (partition by attempt_id, component order by occurred_at desc, event_name) as recency
    from outcome_events

),

components as (

    select
        attempt_id,
        max(case when component = 'skill_assessment' then outcome end) as skill_assessment_outcome,
        max(case when component = 'project' then outcome end) as project_outcome,
        max(case when component = 'case_study' then outcome end) as case_study_outcome
    from component_outcomes
    where recency = 1
    group by attempt_id

),

-- the milestone that ended the attempt: the last of granted, failed, expired, withdrawn
milestones as (

    select
        attempt_id,
        replace(event_name, 'certification_', '') as outcome,
        occurred_at as outcome_at,
        row_number() over (partition by attempt_id order by occurred_at desc, event_name) as recency
    from events
    where event_name in (
        'certification_granted', 'certification_failed', 'certification_expired', 'certification_withdrawn'
    )

),

final as (

    select
        per_attempt.attempt_id,
        per_attempt.user_id,
        per_attempt.group_id,
        per_attempt.certification_id,
        certifications.certification_name,
        per_attempt.registered_at is not null as is_registered,
        per_attempt.registered_at,
        per_attempt.skill_assessment_registered,
        components.skill_assessment_outcome,
        per_attempt.project_registered,
        components.project_outcome,
        per_attempt.case_study_registered,
        components.case_study_outcome,
        coalesce(milestones.outcome, 'in_progress') as outcome,
        coalesce(milestones.outcome = 'granted', false) as is_passed,
        milestones.outcome_at,
        {{ dbt.datediff('per_attempt.registered_at', 'milestones.outcome_at', 'day') }} as days_to_outcome,
        per_attempt.first_event_at,
        per_attempt.last_event_at,
        per_attempt.events,
        per_attempt.xp_earned
    from per_attempt
    left join components on components.attempt_id = per_attempt.attempt_id
    left join milestones on milestones.attempt_id = per_attempt.attempt_id and milestones.recency = 1
    left join certifications on certifications.certification_id = per_attempt.certification_id

)

select * from final
