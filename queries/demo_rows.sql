-- demo_rows: one row per dataset with how many of its visible rows are synthetic demo rows; no params
select 'participation' as dataset, count(*) as rows, count(*) filter (where starts_with(upload_id, 'demo-')) as demo_rows from participation
union all
select 'satisfaction', coalesce(sum(rows), 0)::bigint, coalesce(sum(demo_rows), 0)::bigint from satisfaction_unit_month
union all
select 'index_results', count(*), count(*) filter (where starts_with(upload_id, 'demo-')) from index_results
