-- unit_scoreboard: one row per participating unit with its 红黑榜 composite score (0–100, the mean of its percentile ranks on task completion rate, activities, participants and, with n ≥ 30, window 满意率) and rank; $start, $end, $districts, $systems, $units, $categories
with participation_by_unit as (
    select
        participation.unit_code,
        sum(participation.tasks_claimed) as tasks_claimed,
        sum(participation.tasks_completed) as tasks_completed,
        sum(participation.activities) as activities,
        sum(participation.participants) as participants
    from participation
    inner join units using (unit_code)
    where participation.period_month between $start and $end
        and in_filter($districts, participation.district_code)
        and in_filter($systems, units.unit_system)
        and in_filter($units, participation.unit_code)
        and in_filter($categories, participation.category_code)
    group by participation.unit_code
),

satisfaction_by_unit as (
    select
        unit_code,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where rating_overall >= 3), 0) as satisfied
    from satisfaction_unit_month
    where period_month between date_trunc('month', $start::date) and $end::date
        and in_filter($districts, district_code)
        and in_filter($units, unit_code)
    group by unit_code
),

measures as (
    select
        participation_by_unit.*,
        coalesce(safe_ratio(tasks_completed, tasks_claimed), 0) as completion_rate,
        satisfaction_by_unit.responses,
        case
            when satisfaction_by_unit.responses >= 30
                then satisfaction_by_unit.satisfied / satisfaction_by_unit.responses
        end as satisfaction_rate
    from participation_by_unit
    left join satisfaction_by_unit using (unit_code)
),

percentiles as (
    select
        *,
        percent_rank() over (order by completion_rate) as completion_percentile,
        percent_rank() over (order by activities) as activities_percentile,
        percent_rank() over (order by participants) as participants_percentile,
        case
            when satisfaction_rate is not null then percent_rank() over (
                partition by satisfaction_rate is null order by satisfaction_rate
            )
        end as satisfaction_percentile
    from measures
),

scored as (
    select
        *,
        100 * (
            completion_percentile + activities_percentile + participants_percentile
            + coalesce(satisfaction_percentile, 0)
        ) / (3 + (satisfaction_percentile is not null)::int) as score
    from percentiles
)

select
    *,
    rank() over (order by round(score, 6) desc) as score_rank,
    count(*) over () as units_ranked
from scored
order by score_rank, unit_code
