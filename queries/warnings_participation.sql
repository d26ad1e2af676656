-- warnings_participation: one row per unit whose activities in the $window_months months to $end fell by more than $participation_drop against the $window_months months before; $end, $districts, $systems, $units, $window_months, $participation_drop
with listed_units as (
    select unit_code
    from units
    where in_filter($districts, paired_district_code)
        and in_filter($systems, unit_system)
        and in_filter($units, unit_code)
),

windows as (
    select
        ($end::date - to_months($window_months - 1))::date as current_start,
        $end::date as current_end,
        ($end::date - to_months(2 * $window_months - 1))::date as previous_start,
        ($end::date - to_months($window_months))::date as previous_end
),

activity_by_unit as (
    select
        participation.unit_code,
        coalesce(sum(participation.activities) filter (
            where participation.period_month >= windows.current_start
        ), 0) as current_activities,
        coalesce(sum(participation.activities) filter (
            where participation.period_month <= windows.previous_end
        ), 0) as previous_activities
    from participation
    inner join listed_units using (unit_code)
    cross join windows
    where participation.period_month between windows.previous_start and windows.current_end
    group by participation.unit_code
),

compared as (
    select
        activity_by_unit.unit_code,
        windows.current_start,
        windows.current_end,
        activity_by_unit.current_activities,
        windows.previous_start,
        windows.previous_end,
        activity_by_unit.previous_activities,
        activity_by_unit.current_activities / activity_by_unit.previous_activities - 1
            as activity_change
    from activity_by_unit
    cross join windows
    where activity_by_unit.previous_activities > 0
        and activity_by_unit.current_activities
            < (1 - $participation_drop) * activity_by_unit.previous_activities
)

select * from compared
order by activity_change, unit_code
