-- participation_unit_month: one row per unit × month with participation totals; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation_filtered($districts, $systems, $units, $categories) as participation
    where period_month between $start and $end
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
