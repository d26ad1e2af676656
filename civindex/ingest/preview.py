"""What a publish would change: rows by month and unit, and the KPIs of the affected periods
before → after, computed by running the dashboard's own named queries twice — on the current
snapshot, and on the same snapshot with the batch added (replacing overlapping keys when the
analyst chose to)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from civindex import reference
from civindex.db import Database
from civindex.i18n import language, t
from civindex.schema import DUCKDB_TYPES, UPLOAD_ID, dataset
from civindex.store import Snapshot, Store, conform

PREVIEW_UPLOAD_ID = "preview"
# dataset -> (named query, period column, [(measure column, message key, is_rate)])
KPI_QUERIES = {
    "satisfaction": (
        "satisfaction_monthly",
        "period_month",
        [("satisfaction_rate", "kpi.satisfaction_rate", True)],
    ),
    "participation": (
        "participation_monthly",
        "period_month",
        [
            ("activities", "kpi.activities", False),
            ("participants", "kpi.participants", False),
            ("volunteer_hours", "kpi.volunteer_hours", False),
        ],
    ),
    "index_results": (
        "index_by_round",
        "round_name",
        [("civilization_index", "kpi.civilization_index", False)],
    ),
}
COUNT_COLUMN = {"satisfaction": "responses"}


@dataclass
class Preview:
    by_month_unit: pd.DataFrame  # month, unit, rows (and responses for satisfaction)
    changes: pd.DataFrame  # period, measure, before, after, n_before, n_after, is_rate
    overlap_rows: int
    overlap_batches: list[str]


def _months(table: pa.Table, name: str) -> pa.Array:
    column = dataset(name).date_column
    return pc.cast(pc.floor_temporal(table[column], unit="month"), pa.date32())


def rows_by_month_unit(table: pa.Table, name: str, root=None) -> pd.DataFrame:
    month = _months(table, name)
    parts = {"month": month}
    if "unit_code" in table.column_names:
        parts["unit_code"] = table["unit_code"]
    else:
        parts["unit_code"] = table["district_code"]
    weights = table["response_count"] if name == "satisfaction" else None
    parts["rows"] = pa.array([1] * table.num_rows, pa.int64())
    if weights is not None:
        parts["responses"] = pc.fill_null(weights, 1)
    grouped = (
        pa.table(parts)
        .group_by(["month", "unit_code"])
        .aggregate([(c, "sum") for c in parts if c not in ("month", "unit_code")])
    )
    frame = grouped.to_pandas().rename(columns=lambda c: c.removesuffix("_sum"))
    kind = "units" if "unit_code" in table.column_names else "districts"
    names = reference.names(kind, language(), root)
    label = "unit" if kind == "units" else "district"
    frame.insert(2, label, frame["unit_code"].map(names).fillna(frame["unit_code"]))
    return frame.sort_values(["month", "unit_code"]).reset_index(drop=True)


def _with_batch(
    database: Database,
    store: Store,
    name: str,
    batch: pa.Table,
    replace: bool,
    months: tuple | None = None,
):
    """Swap the dataset's view for current rows (less the replaced keys) plus the batch. With
    `months` (first, last), only the current rows of those months: the month KPIs of the batch's
    months read nothing else, and the Parquet files of other months are then skipped (at 50M
    responses, 2.06 → 0.2 s)."""
    ds = dataset(name)
    # A table, not a registered Arrow view: queries run on cursors, which do not see the
    # registrations of the connection they came from.
    database.connection.register("_incoming_arrow", conform(ds, batch, PREVIEW_UPLOAD_ID))
    database.connection.execute("create table _incoming_batch as select * from _incoming_arrow")
    database.connection.unregister("_incoming_arrow")
    casts = ", ".join(f"cast({c.name} as {DUCKDB_TYPES[c.dtype]}) as {c.name}" for c in ds.columns)
    files = store.file_uris(name, database.snapshot.get(name))
    incoming = f"select {casts}, {UPLOAD_ID} from _incoming_batch"
    if files:
        file_list = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        current = (
            f"select {casts}, {UPLOAD_ID} "
            f"from read_parquet([{file_list}], union_by_name = true) as c"
        )
        where = []
        if months is not None:
            first, last = months
            after = (pd.Timestamp(last) + pd.offsets.MonthBegin(1)).date()
            day = ds.date_column
            where.append(
                f"c.{day} >= DATE '{first:%Y-%m-%d}' and c.{day} < DATE '{after:%Y-%m-%d}'"
            )
        if replace:
            keys = " and ".join(f"c.{k} = b.{k}" for k in ds.key)
            where.append(f"not exists (select 1 from _incoming_batch as b where {keys})")
        if where:
            current += " where " + " and ".join(where)
        source = f"{current} union all {incoming}"
    else:
        source = incoming
    database.connection.execute(f"create or replace view {name} as {source}")
    _recompute_rollups(database, name)


def _recompute_rollups(database: Database, name: str) -> None:
    """Views derived from the dataset (pre-computed rollups read from a file of the snapshot)
    are redefined by their SQL over the swapped view, so the queries see the batch too."""
    try:
        from civindex import derived
    except ImportError:  # no derived rollups: the queries read the dataset views directly
        return
    for rollup in derived.rollups_of(name):
        database.connection.execute(f"create or replace view {rollup.name} as {rollup.sql}")


def _params(name: str, table: pa.Table) -> dict:
    months = _months(table, name)
    start, end = pc.min(months).as_py(), pc.max(months).as_py()
    return {
        "start": start,
        "end": end,
        "districts": [],
        "systems": [],
        "units": [],
        "categories": [],
    }


def kpi_changes(
    store: Store, name: str, table: pa.Table, snapshot: Snapshot | None, replace: bool
) -> pd.DataFrame:
    query, period, measures = KPI_QUERIES[name]
    params = _params(name, table)
    before = Database(store, snapshot).run(query, **params)
    after_database = Database(store, snapshot)
    months = (params["start"], params["end"]) if period == "period_month" else None
    _with_batch(after_database, store, name, table, replace, months)
    after = after_database.run(query, **params)
    if name == "index_results":
        affected = set(pc.unique(table["round_name"]).to_pylist())
        before = before[before["round_name"].isin(affected)]
        after = after[after["round_name"].isin(affected)]
    else:
        affected = set(pc.unique(_months(table, name)).to_pylist())
        after = after[pd.to_datetime(after[period]).dt.date.isin(affected)]
        before = before[pd.to_datetime(before[period]).dt.date.isin(affected)]
    count = COUNT_COLUMN.get(name)
    records = []
    merged = after.merge(before, on=period, how="left", suffixes=("_after", "_before"))
    for row in merged.to_dict("records"):
        label = row[period]
        label = f"{pd.Timestamp(label):%Y-%m}" if period == "period_month" else str(label)
        for column, key, is_rate in measures:
            records.append(
                {
                    "period": label,
                    "measure": t(key),
                    "before": _number(row.get(f"{column}_before")),
                    "after": _number(row.get(f"{column}_after")),
                    "n_before": _number(row.get(f"{count}_before")) if count else None,
                    "n_after": _number(row.get(f"{count}_after")) if count else None,
                    "is_rate": is_rate,
                }
            )
    return pd.DataFrame(
        records, columns=["period", "measure", "before", "after", "n_before", "n_after", "is_rate"]
    )


def _number(value):
    return None if value is None or pd.isna(value) else float(value)


def preview(
    store: Store,
    name: str,
    table: pa.Table,
    *,
    snapshot: Snapshot | None = None,
    replace_overlap: bool = False,
) -> Preview:
    snapshot = store.snapshot() if snapshot is None else snapshot
    overlap_rows, batches = store.overlap(name, table)
    changes = kpi_changes(
        store, name, table, snapshot, replace=replace_overlap or bool(overlap_rows)
    )
    return Preview(rows_by_month_unit(table, name, store.root), changes, overlap_rows, batches)


def format_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The change table as text for a page or a terminal: 96.1% → 95.4%, n alongside."""

    def shown(value, is_rate):
        if value is None or pd.isna(value):
            return "—"
        return f"{value:.1%}" if is_rate else f"{value:,.2f}".rstrip("0").rstrip(".")

    frame = pd.DataFrame(
        {
            t("ingest.preview.period"): changes["period"],
            t("ingest.preview.measure"): changes["measure"],
            t("ingest.preview.before"): [
                shown(v, r) for v, r in zip(changes["before"], changes["is_rate"], strict=True)
            ],
            t("ingest.preview.after"): [
                shown(v, r) for v, r in zip(changes["after"], changes["is_rate"], strict=True)
            ],
        }
    )
    if changes["n_after"].notna().any():
        counts = changes[["n_before", "n_after"]].fillna(0).astype("int64")
        frame[t("ingest.preview.n")] = [f"{b:,} → {a:,}" for b, a in counts.itertuples(index=False)]
    return frame
