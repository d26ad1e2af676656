-- profile_windows: one row per unit × service window with pooled 满意率, n, 95% Wilson bounds and 好评率; $start, $end (months), $districts, $systems, $units
with responses as (
    select
        satisfaction_rollup.unit_code,
        coalesce(satisfaction_rollup.window_name, '') as window_name,
        satisfaction_rollup.rating_overall,
        satisfaction_rollup.responses
    from satisfaction_rollup
    inner join units using (unit_code)
    where satisfaction_rollup.period_month
            between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, satisfaction_rollup.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction_rollup.unit_code)
),

pooled_by_window as (
    select
        unit_code,
        window_name,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied,
        coalesce(sum(responses) filter (where rating_overall >= 4), 0) as good
    from responses
    group by all
)

select
    unit_code,
    window_name,
    responses,
    satisfied,
    satisfied / responses as satisfaction_rate,
    wilson_low(satisfied, responses) as rate_low,
    wilson_high(satisfied, responses) as rate_high,
    good / responses as good_rate,
    responses < 30 as is_small_sample
from pooled_by_window
order by satisfaction_rate, unit_code, window_name
