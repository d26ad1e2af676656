-- data_extent: one row per dataset with its first and last month and row count; no params
select
    'participation' as dataset,
    min(period_month) as first_month,
    max(period_month) as last_month,
    count(*) as rows
from participation
union all
select
    'satisfaction',
    min(period_month),
    max(period_month),
    coalesce(sum(rows), 0)::bigint
from satisfaction_unit_month
union all
select
    'index_results',
    date_trunc('month', min(round_date))::date,
    date_trunc('month', max(round_date))::date,
    count(*)
from index_results
