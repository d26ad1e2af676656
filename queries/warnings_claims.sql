-- warnings_claims: one row per department-level unit that claimed no task from January to $end of that year, with its last claim month before; $end, $districts, $systems, $units
with department_units as (
    select unit_code
    from units
    where is_department_level
        and in_filter($districts, paired_district_code)
        and in_filter($systems, unit_system)
        and in_filter($units, unit_code)
),

claims_by_unit as (
    select
        unit_code,
        max(period_month) as last_claim_month,
        bool_or(period_month >= date_trunc('year', $end::date)) as has_claim_this_year
    from participation
    where tasks_claimed > 0
        and period_month <= $end::date
    group by unit_code
),

unclaimed as (
    select
        department_units.unit_code,
        year($end::date) as year,
        claims_by_unit.last_claim_month
    from department_units
    left join claims_by_unit using (unit_code)
    where not coalesce(claims_by_unit.has_claim_this_year, false)
)

select * from unclaimed
order by last_claim_month nulls first, unit_code
