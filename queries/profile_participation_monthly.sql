-- profile_participation_monthly: one row per month × category with participation totals and claim / completion; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation
    inner join units using (unit_code)
    where participation.period_month between $start and $end
        and in_filter($districts, participation.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, participation.unit_code)
        and in_filter($categories, participation.category_code)
),

monthly as (
    select
        period_month,
        category_code,
        count(distinct unit_code) as participating_units,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours,
        safe_ratio(sum(tasks_completed), sum(tasks_claimed)) as completion_rate
    from filtered
    group by all
)

select * from monthly
order by period_month, category_code
