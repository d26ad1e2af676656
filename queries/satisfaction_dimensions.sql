-- satisfaction_dimensions: one row per rating dimension (overall and the 四优: attitude, timeliness, convenience, quality) with pooled 满意率, n, Wilson bounds and mean score; $start, $end (months), $districts, $systems, $units
with filtered as (
    select satisfaction_unit_month.*
    from satisfaction_unit_month
    inner join units using (unit_code)
    where satisfaction_unit_month.period_month
            between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, satisfaction_unit_month.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction_unit_month.unit_code)
),

-- a dimension nobody rated has no row, as with an unpivot that drops missing ratings
pooled_by_dimension as (
    select
        'rating_overall' as rating_column,
        sum(responses) filter (where rating_overall is not null) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied,
        coalesce(sum(responses) filter (where rating_overall >= 4), 0) as good,
        sum(rating_overall * responses) / sum(responses) filter (where rating_overall is not null)
            as mean_rating
    from filtered
    having sum(responses) filter (where rating_overall is not null) > 0
    union all
    select
        'rating_attitude',
        sum(attitude_responses),
        sum(attitude_satisfied),
        sum(attitude_good),
        sum(attitude_points) / sum(attitude_responses)
    from filtered
    having sum(attitude_responses) > 0
    union all
    select
        'rating_timeliness',
        sum(timeliness_responses),
        sum(timeliness_satisfied),
        sum(timeliness_good),
        sum(timeliness_points) / sum(timeliness_responses)
    from filtered
    having sum(timeliness_responses) > 0
    union all
    select
        'rating_convenience',
        sum(convenience_responses),
        sum(convenience_satisfied),
        sum(convenience_good),
        sum(convenience_points) / sum(convenience_responses)
    from filtered
    having sum(convenience_responses) > 0
    union all
    select
        'rating_quality',
        sum(quality_responses),
        sum(quality_satisfied),
        sum(quality_good),
        sum(quality_points) / sum(quality_responses)
    from filtered
    having sum(quality_responses) > 0
)

select
    rating_column,
    replace(rating_column, 'rating_', '') as dimension,
    responses,
    satisfied,
    satisfied / responses as satisfaction_rate,
    good / responses as good_rate,
    wilson_low(satisfied, responses) as rate_low,
    wilson_high(satisfied, responses) as rate_high,
    mean_rating,
    responses < 30 as is_small_sample
from pooled_by_dimension
order by
    list_position(
        ['rating_overall', 'rating_attitude', 'rating_timeliness', 'rating_convenience',
            'rating_quality'],
        rating_column
    )
