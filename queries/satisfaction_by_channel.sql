-- satisfaction_by_channel: one row per survey channel (评价器, 问卷, 暗访, 线上, 12345热线; '' when missing) with pooled 满意率, n and Wilson bounds; $start, $end (months), $districts, $systems, $units
with responses as (
    select
        coalesce(satisfaction_rollup.channel, '') as channel,
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

pooled_by_channel as (
    select
        channel,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied
    from responses
    group by channel
)

select
    channel,
    responses,
    satisfied,
    satisfied / responses as satisfaction_rate,
    wilson_low(satisfied, responses) as rate_low,
    wilson_high(satisfied, responses) as rate_high,
    responses < 30 as is_small_sample
from pooled_by_channel
order by responses desc, channel
