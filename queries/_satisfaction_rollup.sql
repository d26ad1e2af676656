-- satisfaction_rollup: one row per month × unit × district × window × channel × overall rating with its responses (Σ response_count), raw and demo rows, and for each 四优 dimension its responses, satisfied (≥ 3), good (≥ 4) and rating points; the derived table the satisfaction queries read (civindex/derived.py); no params
with responses as (
    select
        date_trunc('month', surveyed_on)::date as period_month,
        unit_code,
        district_code,
        window_name,
        channel,
        rating_overall,
        rating_attitude,
        rating_timeliness,
        rating_convenience,
        rating_quality,
        coalesce(response_count, 1) as responses,
        starts_with(upload_id, 'demo-') as is_demo
    from satisfaction
),

rolled_up as (
    select
        period_month,
        unit_code,
        district_code,
        window_name,
        channel,
        rating_overall,
        count(*)::bigint as rows,
        count(*) filter (where is_demo)::bigint as demo_rows,
        sum(responses)::bigint as responses,
        coalesce(sum(responses) filter (where rating_attitude is not null), 0)::bigint
            as attitude_responses,
        coalesce(sum(responses) filter (where rating_attitude >= 3), 0)::bigint
            as attitude_satisfied,
        coalesce(sum(responses) filter (where rating_attitude >= 4), 0)::bigint as attitude_good,
        coalesce(sum(responses * rating_attitude), 0)::bigint as attitude_points,
        coalesce(sum(responses) filter (where rating_timeliness is not null), 0)::bigint
            as timeliness_responses,
        coalesce(sum(responses) filter (where rating_timeliness >= 3), 0)::bigint
            as timeliness_satisfied,
        coalesce(sum(responses) filter (where rating_timeliness >= 4), 0)::bigint
            as timeliness_good,
        coalesce(sum(responses * rating_timeliness), 0)::bigint as timeliness_points,
        coalesce(sum(responses) filter (where rating_convenience is not null), 0)::bigint
            as convenience_responses,
        coalesce(sum(responses) filter (where rating_convenience >= 3), 0)::bigint
            as convenience_satisfied,
        coalesce(sum(responses) filter (where rating_convenience >= 4), 0)::bigint
            as convenience_good,
        coalesce(sum(responses * rating_convenience), 0)::bigint as convenience_points,
        coalesce(sum(responses) filter (where rating_quality is not null), 0)::bigint
            as quality_responses,
        coalesce(sum(responses) filter (where rating_quality >= 3), 0)::bigint
            as quality_satisfied,
        coalesce(sum(responses) filter (where rating_quality >= 4), 0)::bigint as quality_good,
        coalesce(sum(responses * rating_quality), 0)::bigint as quality_points
    from responses
    group by all
)

-- sorted by month (only: a full sort would cost a third of the time) so that a period filter
-- reads only the row groups of its months
select * from rolled_up
order by period_month
