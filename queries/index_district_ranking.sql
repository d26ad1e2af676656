-- index_district_ranking: one row per test round × district with its 文明程度指数, rank among all districts and change against the previous round of the same type; $end, $districts, $round_type ('' = every type)
with results as (
    select *
    from index_results
    where round_date <= last_day($end::date)
),

by_district as (
    select
        round_name,
        round_date,
        round_type,
        district_code,
        sum(score) as score,
        sum(max_score) as max_score,
        100 * sum(score) / sum(max_score) as civilization_index
    from results
    group by all
),

ranked as (
    select
        *,
        -- rounded so float noise in Σ score does not split a tie
        rank() over (partition by round_name order by round(civilization_index, 6) desc) as rank,
        count(*) over (partition by round_name) as districts_ranked
    from by_district
),

rounds as (
    select distinct round_name, round_date, round_type
    from by_district
),

previous_rounds as (
    select
        round_name,
        lag(round_name) over (partition by round_type order by round_date, round_name)
            as previous_round
    from rounds
),

compared as (
    select
        ranked.*,
        previous_rounds.previous_round,
        previous.civilization_index as previous_index,
        previous.rank as previous_rank,
        ranked.civilization_index - previous.civilization_index as index_change,
        previous.rank - ranked.rank as rank_change
    from ranked
    inner join previous_rounds using (round_name)
    left join ranked as previous
        on previous.round_name = previous_rounds.previous_round
        and previous.district_code = ranked.district_code
)

select * from compared
where in_filter($districts, district_code)
    and ($round_type = '' or round_type = $round_type)
order by round_date, round_name, rank, district_code
