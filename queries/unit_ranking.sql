-- unit_ranking: one row per unit with its participation in the period, activities in the equally long period before, rank by activities and rank change, and its pooled 满意率 with n, Wilson bounds and rank among units with n ≥ 30; $start, $end, $districts, $systems, $categories
with listed_units as (
    select unit_code
    from units
    where in_filter($systems, unit_system)
),

periods as (
    select
        $start::date as current_start,
        $end::date as current_end,
        ($start::date - to_months(date_diff('month', $start::date, $end::date) + 1))::date
            as previous_start,
        ($start::date - to_months(1))::date as previous_end
),

activity_by_unit as (
    select
        participation.unit_code,
        coalesce(sum(participation.activities) filter (
            where participation.period_month >= periods.current_start
        ), 0) as activities,
        coalesce(sum(participation.activities) filter (
            where participation.period_month <= periods.previous_end
        ), 0) as previous_activities,
        sum(participation.participants) filter (
            where participation.period_month >= periods.current_start
        ) as participants,
        sum(participation.volunteer_hours) filter (
            where participation.period_month >= periods.current_start
        ) as volunteer_hours,
        sum(participation.tasks_claimed) filter (
            where participation.period_month >= periods.current_start
        ) as tasks_claimed,
        sum(participation.tasks_completed) filter (
            where participation.period_month >= periods.current_start
        ) as tasks_completed
    from participation
    cross join periods
    where participation.period_month between periods.previous_start and periods.current_end
        and in_filter($districts, participation.district_code)
        and in_filter($categories, participation.category_code)
    group by participation.unit_code
),

satisfaction_by_unit as (
    select
        unit_code,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied
    from satisfaction_unit_month
    where period_month between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, district_code)
    group by unit_code
),

combined as (
    select
        listed_units.unit_code,
        coalesce(activity_by_unit.activities, 0) as activities,
        coalesce(activity_by_unit.previous_activities, 0) as previous_activities,
        coalesce(activity_by_unit.participants, 0) as participants,
        coalesce(activity_by_unit.volunteer_hours, 0) as volunteer_hours,
        coalesce(activity_by_unit.tasks_claimed, 0) as tasks_claimed,
        coalesce(activity_by_unit.tasks_completed, 0) as tasks_completed,
        safe_ratio(activity_by_unit.tasks_completed, activity_by_unit.tasks_claimed)
            as completion_rate,
        coalesce(satisfaction_by_unit.responses, 0) as responses,
        safe_ratio(satisfaction_by_unit.satisfied, satisfaction_by_unit.responses)
            as satisfaction_rate,
        wilson_low(satisfaction_by_unit.satisfied, satisfaction_by_unit.responses) as rate_low,
        wilson_high(satisfaction_by_unit.satisfied, satisfaction_by_unit.responses) as rate_high
    from listed_units
    left join activity_by_unit using (unit_code)
    left join satisfaction_by_unit using (unit_code)
),

ranked as (
    select
        *,
        rank() over (order by activities desc) as activity_rank,
        rank() over (order by previous_activities desc) as previous_activity_rank,
        count(*) over () as units_ranked,
        case when responses >= 30 then
            rank() over (
                partition by responses >= 30 order by satisfaction_rate desc
            )
        end as satisfaction_rank,
        count(*) filter (where responses >= 30) over () as units_rated
    from combined
)

select
    *,
    previous_activity_rank - activity_rank as activity_rank_change
from ranked
order by activity_rank, unit_code
