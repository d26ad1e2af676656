-- satisfaction_dimensions: one row per rating dimension (overall and the 四优: attitude, timeliness, convenience, quality) with pooled 满意率, n, Wilson bounds and mean score; $start, $end, $districts, $systems, $units
with responses as (
    select
        satisfaction.rating_overall,
        satisfaction.rating_attitude,
        satisfaction.rating_timeliness,
        satisfaction.rating_convenience,
        satisfaction.rating_quality,
        coalesce(satisfaction.response_count, 1) as responses
    from satisfaction
    inner join units using (unit_code)
    where satisfaction.surveyed_on between $start and last_day($end::date)
        and in_filter($districts, satisfaction.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction.unit_code)
),

ratings as (
    unpivot responses
    on rating_overall, rating_attitude, rating_timeliness, rating_convenience, rating_quality
    into name rating_column value rating
),

pooled_by_dimension as (
    select
        rating_column,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating >= 3), 0) as satisfied,
        coalesce(sum(responses) filter (where rating >= 4), 0) as good,
        sum(rating * responses) / sum(responses) as mean_rating
    from ratings
    group by rating_column
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
