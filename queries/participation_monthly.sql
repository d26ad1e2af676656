-- participation_monthly: one row per month with participation totals; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation_filtered($districts, $systems, $units, $categories) as participation
    where period_month between $start and $end
),

monthly as (
    select
        period_month,
        count(distinct unit_code) as participating_units,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours,
        sum(practical_matters) as practical_matters,
        safe_ratio(sum(tasks_completed), sum(tasks_claimed)) as completion_rate
    from filtered
    group by period_month
)

select * from monthly
order by period_month
