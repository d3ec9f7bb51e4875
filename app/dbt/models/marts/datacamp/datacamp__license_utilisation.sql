-- Licence utilisation over time, from the permission facts: for each day, group and product licence (slug),
-- the licences purchased by the subscription in force, the seats allocated to learners at the end of the day,
-- and their ratio. One row per day, group and slug, from the first to the last day of the permission events.
--
-- State is read from each subscription's and each learner's latest event up to the day, never by summing
-- events, so an event the share repeats changes nothing. A group is assumed to hold one subscription per slug
-- at a time (a renewal ends one and starts the next).

with permission_events as (

    select *
    from {{ ref('stg_datacamp__fact_permission_events') }}
    where group_id is not null and slug is not null

),

-- the last subscription event of each day per group and slug (on a tie, the start)
subscription_days as (

    select
        group_id,
        slug,
        product,
        license,
        cast(occurred_at as date) as event_date,
        case when event_name = 'subscription_started' then coalesce(licenses_purchased, 0) else 0 end
            as licenses_purchased,
        row_number() over (
            partition by group_id, slug, cast(occurred_at as date)
            order by occurred_at desc, event_name desc
        ) as recency
    from permission_events
    where event_name in ('subscription_started', 'subscription_ended')

),

-- each state holds from its day until the day of the next one
subscription_states as (

    select
        group_id,
        slug,
        product,
        license,
        licenses_purchased,
        event_date as valid_from,
        lead(event_date) over (partition by group_id, slug order by event_date) as valid_until
    from subscription_days
    where recency = 1

),

-- the same for each learner's licence: allocated or revoked at the end of a day (on a tie, allocated)
seat_days as (

    select
        group_id,
        slug,
        user_id,
        cast(occurred_at as date) as event_date,
        event_name = 'user_license_allocated' as holds_seat,
        row_number() over (
            partition by group_id, slug, user_id, cast(occurred_at as date)
            order by occurred_at desc, event_name
        ) as recency
    from permission_events
    where event_name in ('user_license_allocated', 'user_license_revoked')
      and user_id is not null

),

seat_states as (

    select
        group_id,
        slug,
        user_id,
        holds_seat,
        event_date as valid_from,
        lead(event_date) over (partition by group_id, slug, user_id order by event_date) as valid_until
    from seat_days
    where recency = 1

),

bounds as (

    select
        min(cast(occurred_at as date)) as first_day,
        max(cast(occurred_at as date)) as last_day
    from permission_events

),

day_offsets as (

    {{ learnsync_day_offsets() }}

),

days as (

    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_day') }} as date) as activity_date
    from bounds
    cross join day_offsets
    where day_offsets.day_offset <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}

),

-- the groups' licences: from their first permission event on
licences as (

    select group_id, slug, min(cast(occurred_at as date)) as first_day
    from permission_events
    group by group_id, slug

),

licence_days as (

    select days.activity_date, licences.group_id, licences.slug
    from days
    inner join licences on licences.first_day <= days.activity_date

),

purchased as (

    select
        licence_days.activity_date,
        licence_days.group_id,
        licence_days.slug,
        max(subscription_states.product) as product,
        max(subscription_states.license) as license,
        sum(subscription_states.licenses_purchased) as licenses_purchased
    from licence_days
    inner join subscription_states
        on subscription_states.group_id = licence_days.group_id
        and subscription_states.slug = licence_days.slug
        and subscription_states.valid_from <= licence_days.activity_date
        and (subscription_states.valid_until is null or licence_days.activity_date < subscription_states.valid_until)
    group by 1, 2, 3

),

allocated as (

    select
        licence_days.activity_date,
        licence_days.group_id,
        licence_days.slug,
        count(distinct seat_states.user_id) as seats_allocated
    from licence_days
    inner join seat_states
        on seat_states.group_id = licence_days.group_id
        and seat_states.slug = licence_days.slug
        and seat_states.holds_seat
        and seat_states.valid_from <= licence_days.activity_date
        and (seat_states.valid_until is null or licence_days.activity_date < seat_states.valid_until)
    group by 1, 2, 3

),

final as (

    select
        licence_days.activity_date,
        licence_days.group_id,
        licence_days.slug,
        purchased.product,
        purchased.license,
        coalesce(purchased.licenses_purchased, 0) as licenses_purchased,
        coalesce(allocated.seats_allocated, 0) as seats_allocated,
        {{ learnsync_ratio('coalesce(allocated.seats_allocated, 0)', 'purchased.licenses_purchased') }}
            as utilisation_rate
    from licence_days
    left join purchased
        on purchased.activity_date = licence_days.activity_date
        and purchased.group_id = licence_days.group_id
        and purchased.slug = licence_days.slug
    left join allocated
        on allocated.activity_date = licence_days.activity_date
        and allocated.group_id = licence_days.group_id
        and allocated.slug = licence_days.slug

)

select * from final
