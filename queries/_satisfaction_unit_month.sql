-- satisfaction_unit_month: one row per month × unit × district × overall rating with the measures of satisfaction_rollup summed over windows and channels, for the queries that need neither (a fraction of its rows); no params
with by_unit_month as (
    select
        period_month,
        unit_code,
        district_code,
        rating_overall,
        sum(rows)::bigint as rows,
        sum(demo_rows)::bigint as demo_rows,
        sum(responses)::bigint as responses,
        sum(attitude_responses)::bigint as attitude_responses,
        sum(attitude_satisfied)::bigint as attitude_satisfied,
        sum(attitude_good)::bigint as attitude_good,
        sum(attitude_points)::bigint as attitude_points,
        sum(timeliness_responses)::bigint as timeliness_responses,
        sum(timeliness_satisfied)::bigint as timeliness_satisfied,
        sum(timeliness_good)::bigint as timeliness_good,
        sum(timeliness_points)::bigint as timeliness_points,
        sum(convenience_responses)::bigint as convenience_responses,
        sum(convenience_satisfied)::bigint as convenience_satisfied,
        sum(convenience_good)::bigint as convenience_good,
        sum(convenience_points)::bigint as convenience_points,
        sum(quality_responses)::bigint as quality_responses,
        sum(quality_satisfied)::bigint as quality_satisfied,
        sum(quality_good)::bigint as quality_good,
        sum(quality_points)::bigint as quality_points
    from satisfaction_rollup
    group by all
)

select * from by_unit_month
order by period_month
