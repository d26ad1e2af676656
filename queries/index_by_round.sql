-- index_by_round: one row per test round with the pooled 文明程度指数 over the selected districts; $districts, $start, $end
with filtered as (
    select *
    from index_results
    where round_date between $start and last_day($end)
        and in_filter($districts, district_code)
),

by_round as (
    select
        round_name,
        round_date,
        round_type,
        count(distinct district_code) as districts,
        100 * sum(score) / sum(max_score) as civilization_index
    from filtered
    group by all
)

select * from by_round
order by round_date, round_name
