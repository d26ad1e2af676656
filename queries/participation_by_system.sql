-- participation_by_system: one row per unit system with units, claim rate (units that claimed a task / units), completion rate and totals; $start, $end, $districts, $systems, $units, $categories
with system_units as (
    select unit_code, unit_system
    from units
    where in_filter($systems, unit_system)
        and in_filter($units, unit_code)
),

filtered as (
    select participation.*
    from participation
    where period_month between $start and $end
        and in_filter($districts, district_code)
        and in_filter($categories, category_code)
),

by_unit as (
    select
        system_units.unit_system,
        system_units.unit_code,
        coalesce(sum(filtered.tasks_claimed), 0) as tasks_claimed,
        coalesce(sum(filtered.tasks_completed), 0) as tasks_completed,
        coalesce(sum(filtered.activities), 0) as activities,
        coalesce(sum(filtered.participants), 0) as participants,
        coalesce(sum(filtered.volunteer_hours), 0) as volunteer_hours,
        count(filtered.unit_code) > 0 as has_participated
    from system_units
    left join filtered using (unit_code)
    group by all
),

by_system as (
    select
        unit_system,
        count(*) as units,
        count(*) filter (where has_participated) as participating_units,
        count(*) filter (where tasks_claimed > 0) as claiming_units,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours
    from by_unit
    group by unit_system
)

select
    *,
    safe_ratio(claiming_units, units) as claim_rate,
    safe_ratio(tasks_completed, tasks_claimed) as completion_rate
from by_system
order by activities desc, unit_system
