-- participation_by_category_monthly: one row per month × category with participation totals; $start, $end, $districts, $systems, $units, $categories
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

monthly as (
    select
        filtered.period_month,
        filtered.category_code,
        count(distinct filtered.unit_code) as participating_units,
        sum(filtered.tasks_claimed) as tasks_claimed,
        sum(filtered.tasks_completed) as tasks_completed,
        sum(filtered.activities) as activities,
        sum(filtered.participants) as participants,
        sum(filtered.volunteer_hours) as volunteer_hours
    from filtered
    group by all
),

ordered as (
    select monthly.*
    from monthly
    left join categories using (category_code)
    order by monthly.period_month, categories.sort_order, monthly.category_code
)

select * from ordered
