-- claim_rate_by_year: one row per year, share of department-level units that claimed a task from January to the month of $end; $end, $districts, $systems, $units, $categories
with department_units as (
    select unit_code
    from units
    where is_department_level
        and in_filter($systems, unit_system)
        and in_filter($units, unit_code)
),

claims as (
    select
        year(period_month) as year,
        unit_code
    from participation
    where tasks_claimed > 0
        and month(period_month) <= month($end::date)
        and year(period_month) <= year($end::date)
        and in_filter($districts, district_code)
        and in_filter($categories, category_code)
    group by all
),

years as (
    select distinct year(period_month) as year
    from participation
    where year(period_month) <= year($end::date)
),

by_year as (
    select
        years.year,
        (select count(*) from department_units) as department_units,
        count(distinct claims.unit_code) as claiming_units
    from years
    left join claims
        on claims.year = years.year
        and claims.unit_code in (select unit_code from department_units)
    group by years.year
)

select
    year,
    department_units,
    claiming_units,
    safe_ratio(claiming_units, department_units) as claim_rate
from by_year
order by year
