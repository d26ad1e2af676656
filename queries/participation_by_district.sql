-- participation_by_district: one row per district where the work was done, with totals, the same months a year earlier and the change; $start, $end, $districts, $systems, $units, $categories
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

by_district as (
    select
        district_code,
        count(distinct unit_code) filter (where is_current) as participating_units,
        coalesce(sum(tasks_claimed) filter (where is_current), 0) as tasks_claimed,
        coalesce(sum(tasks_completed) filter (where is_current), 0) as tasks_completed,
        coalesce(sum(activities) filter (where is_current), 0) as activities,
        coalesce(sum(participants) filter (where is_current), 0) as participants,
        coalesce(sum(volunteer_hours) filter (where is_current), 0) as volunteer_hours,
        coalesce(sum(activities) filter (where not is_current), 0) as activities_prev
    from filtered
    group by district_code
)

select
    *,
    safe_ratio(tasks_completed, tasks_claimed) as completion_rate,
    safe_ratio(activities - activities_prev, activities_prev) as activities_yoy
from by_district
order by activities desc, district_code
