-- Every XP point of the learning and certification facts lands in exactly one user-week of the engagement
-- mart (no event lost to a join, none counted twice). Fails with both totals when they differ.

with in_facts as (

    select sum(xp_earned) as xp
    from (
        select xp_earned from {{ ref('stg_datacamp__fact_learn_events') }}
        union all
        select xp_earned from {{ ref('stg_datacamp__fact_certification_events') }}
    ) as events

),

in_mart as (

    select sum(xp_earned) as xp
    from {{ ref('datacamp__weekly_user_engagement') }}

)

select in_facts.xp as fact_xp, in_mart.xp as mart_xp
from in_facts
cross join in_mart
where coalesce(in_facts.xp, 0) <> coalesce(in_mart.xp, 0)
