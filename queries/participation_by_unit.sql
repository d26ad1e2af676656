-- participation_by_unit: one row per unit with participation totals, completion rate and rank by activities; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation_filtered($districts, $systems, $units, $categories) as participation
    where period_month between $start and $end
),

by_unit as (
    select
        unit_code,
        unit_system,
        count(distinct category_code) as categories,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours,
        safe_ratio(sum(tasks_completed), sum(tasks_claimed)) as completion_rate
    from filtered
    group by all
)

select
    *,
    rank() over (order by activities desc) as activities_rank
from by_unit
order by activities desc, unit_code
