-- participation_unit_month: one row per unit × month with participation totals; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation
    inner join units using (unit_code)
    where period_month between $start and $end
        and in_filter($districts, participation.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, participation.unit_code)
        and in_filter($categories, participation.category_code)
),

unit_months as (
    select
        unit_code,
        period_month,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours
    from filtered
    group by all
)

select * from unit_months
order by unit_code, period_month
