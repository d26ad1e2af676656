-- demo_rows: one row per dataset with how many of its visible rows are synthetic demo rows; no params
select 'participation' as dataset, count(*) as rows, count(*) filter (where starts_with(upload_id, 'demo-')) as demo_rows from participation
union all
select 'satisfaction', count(*), count(*) filter (where starts_with(upload_id, 'demo-')) from satisfaction
union all
select 'index_results', count(*), count(*) filter (where starts_with(upload_id, 'demo-')) from index_results
