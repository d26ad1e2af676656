-- participation_by_category_monthly: one row per month × category with participation totals; $start, $end, $districts, $systems, $units, $categories
with filtered as (
    select participation.*
    from participation_filtered($districts, $systems, $units, $categories) as participation
    where period_month between $start and $end
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
