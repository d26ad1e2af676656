-- index_indicator_breakdown: one row per test round × district × indicator with its score rate, the previous round of the same type, and its contribution to the change of the district's index (contributions add up to the index change); $end, $districts, $round_name ('' = every round)
with results as (
    select *
    from index_results
    where round_date <= last_day($end::date)
),

district_totals as (
    select
        round_name,
        district_code,
        sum(max_score) as district_max_score
    from results
    group by all
),

rounds as (
    select distinct round_name, round_date, round_type
    from results
),

previous_rounds as (
    select
        round_name,
        lag(round_name) over (partition by round_type order by round_date, round_name)
            as previous_round
    from rounds
),

scored as (
    select
        results.round_name,
        results.round_date,
        results.round_type,
        results.district_code,
        results.indicator_code,
        results.score,
        results.max_score,
        results.score / results.max_score as score_rate,
        100 * results.score / district_totals.district_max_score as index_points
    from results
    inner join district_totals using (round_name, district_code)
),

compared as (
    select
        scored.*,
        previous_rounds.previous_round,
        previous.score as previous_score,
        previous.score_rate as previous_score_rate,
        scored.score_rate - previous.score_rate as score_rate_change,
        scored.index_points - previous.index_points as index_contribution
    from scored
    inner join previous_rounds using (round_name)
    left join scored as previous
        on previous.round_name = previous_rounds.previous_round
        and previous.district_code = scored.district_code
        and previous.indicator_code = scored.indicator_code
)

select * from compared
where in_filter($districts, district_code)
    and ($round_name = '' or round_name = $round_name)
order by round_date, round_name, district_code, indicator_code
