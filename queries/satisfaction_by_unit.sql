-- satisfaction_by_unit: one row per unit with pooled 满意率 and 好评率, n, 95% Wilson bounds, small-sample and below-target flags; $start, $end (months), $districts, $systems, $units, $satisfaction_target
with responses as (
    select
        satisfaction_unit_month.unit_code,
        units.unit_system,
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

pooled_by_unit as (
    select
        unit_code,
        unit_system,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied,
        coalesce(sum(responses) filter (where rating_overall >= 4), 0) as good
    from responses
    group by all
),

rated as (
    select
        unit_code,
        unit_system,
        responses,
        satisfied,
        satisfied / responses as satisfaction_rate,
        good / responses as good_rate,
        wilson_low(satisfied, responses) as rate_low,
        wilson_high(satisfied, responses) as rate_high,
        responses < 30 as is_small_sample,
        satisfied / responses < $satisfaction_target as is_below_target
    from pooled_by_unit
)

select * from rated
order by satisfaction_rate, responses desc, unit_code
