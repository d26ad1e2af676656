-- district_units: one row per unit paired with one of $districts or active there in the period, with its participation there; $start, $end, $districts, $categories
with activity_there as (
    select
        unit_code,
        sum(activities) as activities,
        sum(participants) as participants,
        sum(volunteer_hours) as volunteer_hours,
        sum(tasks_claimed) as tasks_claimed,
        sum(tasks_completed) as tasks_completed
    from participation
    where period_month between $start and $end
        and in_filter($districts, district_code)
        and in_filter($categories, category_code)
    group by unit_code
),

listed as (
    select
        units.unit_code,
        units.unit_system,
        in_filter($districts, units.paired_district_code) as is_paired,
        coalesce(activity_there.activities, 0) as activities,
        coalesce(activity_there.participants, 0) as participants,
        coalesce(activity_there.volunteer_hours, 0) as volunteer_hours,
        coalesce(activity_there.tasks_claimed, 0) as tasks_claimed,
        coalesce(activity_there.tasks_completed, 0) as tasks_completed,
        safe_ratio(activity_there.tasks_completed, activity_there.tasks_claimed)
            as completion_rate
    from units
    left join activity_there using (unit_code)
    where in_filter($districts, units.paired_district_code)
        or activity_there.unit_code is not null
)

select * from listed
order by activities desc, unit_code
