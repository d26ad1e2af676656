-- satisfaction_distribution: one row per overall rating level (5 非常满意 … 1 非常不满意) with its responses and share; $start, $end, $districts, $systems, $units
with responses as (
    select
        satisfaction.rating_overall,
        coalesce(satisfaction.response_count, 1) as responses
    from satisfaction
    inner join units using (unit_code)
    where satisfaction.surveyed_on between $start and last_day($end::date)
        and in_filter($districts, satisfaction.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction.unit_code)
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
