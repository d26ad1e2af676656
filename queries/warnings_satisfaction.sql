-- warnings_satisfaction: one row per service-window unit × month of the $below_months months to $end with its pooled 满意率 and n; is_below_target on n ≥ $min_responses under $satisfaction_target, is_warning when every one of those months is; $end, $districts, $systems, $units, $satisfaction_target, $min_responses, $below_months
with months as (
    select unnest(generate_series(
        ($end::date - to_months($below_months - 1))::date, $end::date, interval 1 month
    ))::date as period_month
),

recent_responses as (
    select
        unit_code,
        period_month,
        responses,
        rating_overall >= 3 as is_satisfied
    from satisfaction_unit_month
    where period_month between (select min(period_month) from months) and $end::date
),

listed_units as (
    select unit_code
    from units
    where in_filter($districts, paired_district_code)
        and in_filter($systems, unit_system)
        and in_filter($units, unit_code)
        and (
            has_service_window
            or unit_code in (select unit_code from recent_responses)
        )
),

pooled_by_month as (
    select
        unit_code,
        period_month,
        sum(responses) as responses,
        coalesce(sum(responses) filter (where is_satisfied), 0) as satisfied
    from recent_responses
    group by all
),

unit_months as (
    select
        listed_units.unit_code,
        months.period_month,
        coalesce(pooled_by_month.responses, 0) as responses,
        coalesce(pooled_by_month.satisfied, 0) as satisfied
    from listed_units
    cross join months
    left join pooled_by_month using (unit_code, period_month)
),

rated as (
    select
        *,
        safe_ratio(satisfied, responses) as satisfaction_rate,
        wilson_low(satisfied, responses) as rate_low,
        wilson_high(satisfied, responses) as rate_high,
        responses >= $min_responses
            and satisfied / responses < $satisfaction_target as is_below_target
    from unit_months
),

flagged as (
    select
        *,
        count(*) filter (where is_below_target) over (partition by unit_code) = $below_months
            as is_warning,
        bool_or(is_below_target and period_month = $end::date) over (partition by unit_code)
            as is_below_at_end
    from rated
)

select * from flagged
order by is_warning desc, is_below_at_end desc, unit_code, period_month
