-- participation_by_category: one row per category with totals for $start..$end, the same months a year earlier and the year-on-year change; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select
        participation.*,
        participation.period_month between $start and $end as is_current
    from participation_filtered($districts, $systems, $units, $categories) as participation
    where (
            participation.period_month between $start and $end
            or participation.period_month
                between ($start::date - interval 1 year) and ($end::date - interval 1 year)
        )
),

by_category as (
    select
        category_code,
        count(distinct unit_code) filter (where is_current) as participating_units,
        coalesce(sum(tasks_claimed) filter (where is_current), 0) as tasks_claimed,
        coalesce(sum(tasks_completed) filter (where is_current), 0) as tasks_completed,
        coalesce(sum(activities) filter (where is_current), 0) as activities,
        coalesce(sum(participants) filter (where is_current), 0) as participants,
        coalesce(sum(volunteer_hours) filter (where is_current), 0) as volunteer_hours,
        coalesce(sum(tasks_claimed) filter (where not is_current), 0) as tasks_claimed_prev,
        coalesce(sum(tasks_completed) filter (where not is_current), 0) as tasks_completed_prev,
        coalesce(sum(activities) filter (where not is_current), 0) as activities_prev,
        coalesce(sum(participants) filter (where not is_current), 0) as participants_prev,
        coalesce(sum(volunteer_hours) filter (where not is_current), 0) as volunteer_hours_prev
    from filtered
    group by category_code
),

with_change as (
    select
        by_category.*,
        safe_ratio(tasks_completed, tasks_claimed) as completion_rate,
        safe_ratio(tasks_claimed - tasks_claimed_prev, tasks_claimed_prev) as tasks_claimed_yoy,
        safe_ratio(tasks_completed - tasks_completed_prev, tasks_completed_prev)
            as tasks_completed_yoy,
        safe_ratio(activities - activities_prev, activities_prev) as activities_yoy,
        safe_ratio(participants - participants_prev, participants_prev) as participants_yoy,
        safe_ratio(volunteer_hours - volunteer_hours_prev, volunteer_hours_prev)
            as volunteer_hours_yoy
    from by_category
    left join categories using (category_code)
    order by categories.sort_order, category_code
)

select * from with_change
