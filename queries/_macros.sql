-- Shared SQL macros, created on every connection before any named query runs.
create or replace macro wilson_low(k, n) as
    case when n > 0 then
        (k / n + 1.96 * 1.96 / (2 * n)
            - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n)))
        / (1 + 1.96 * 1.96 / n)
    end;

create or replace macro wilson_high(k, n) as
    case when n > 0 then
        (k / n + 1.96 * 1.96 / (2 * n)
            + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 * 1.96 / (4 * n * n)))
        / (1 + 1.96 * 1.96 / n)
    end;

create or replace macro safe_ratio(numerator, denominator) as
    case when denominator > 0 then numerator / denominator end;

create or replace macro in_filter(selected, value) as
    len(selected) = 0 or list_contains(selected, value);

-- Participation rows inside the global filters (district, unit system, unit, category), with
-- the unit's system; one definition of what the filter bar means for participation.
create or replace macro participation_filtered(district_list, system_list, unit_list, category_list) as table
    select participation.*, units.unit_system
    from participation
    inner join units using (unit_code)
    where in_filter(district_list, participation.district_code)
        and in_filter(system_list, units.unit_system)
        and in_filter(unit_list, participation.unit_code)
        and in_filter(category_list, participation.category_code);
