-- satisfaction_distribution: one row per overall rating level (5 非常满意 … 1 非常不满意) with its responses and share; $start, $end (months), $districts, $systems, $units
with responses as (
    select
        satisfaction_unit_month.rating_overall,
        satisfaction_unit_month.responses
    from satisfaction_unit_month
    inner join units using (unit_code)
    where satisfaction_unit_month.period_month
            between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, satisfaction_unit_month.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction_unit_month.unit_code)
),

levels as (
    select unnest([5, 4, 3, 2, 1]) as rating
),

by_level as (
    select
        levels.rating,
        coalesce(sum(responses.responses), 0) as responses
    from levels
    left join responses on responses.rating_overall = levels.rating
    group by levels.rating
)

select
    rating,
    responses,
    safe_ratio(responses, sum(responses) over ()) as share,
    rating >= 3 as is_satisfied
from by_level
order by rating desc
