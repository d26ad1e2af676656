-- data_extent: one row per dataset with its first and last month, row count and how many of those rows are synthetic demo rows; no params
select
    'participation' as dataset,
    min(period_month) as first_month,
    max(period_month) as last_month,
    count(*) as rows,
    count(*) filter (where starts_with(upload_id, 'demo-')) as demo_rows
from participation
union all
select
    'satisfaction',
    min(period_month),
    max(period_month),
    coalesce(sum(rows), 0)::bigint,
    coalesce(sum(demo_rows), 0)::bigint
from satisfaction_unit_month
union all
select
    'index_results',
    date_trunc('month', min(round_date))::date,
    date_trunc('month', max(round_date))::date,
    count(*),
    count(*) filter (where starts_with(upload_id, 'demo-'))
from index_results
