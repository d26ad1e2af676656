-- satisfaction_monthly: one row per month with pooled 满意率 and 好评率, n and Wilson bounds; $start, $end (months), $districts, $systems, $units
with filtered as (
    select
        satisfaction_unit_month.period_month,
        satisfaction_unit_month.rating_overall,
        satisfaction_unit_month.responses
    from satisfaction_unit_month
    inner join units using (unit_code)
    where period_month between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, satisfaction_unit_month.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, satisfaction_unit_month.unit_code)
),

monthly as (
    select
        period_month,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied,
        coalesce(sum(responses) filter (where rating_overall >= 4), 0) as good
    from filtered
    group by 1
)

select
    period_month,
    responses,
    satisfied,
    good,
    satisfied / responses as satisfaction_rate,
    good / responses as good_rate,
    wilson_low(satisfied, responses) as rate_low,
    wilson_high(satisfied, responses) as rate_high,
    responses < 30 as is_small_sample
from monthly
order by period_month
