"""Derived aggregates (civindex/derived.py) give the figures the raw rows give, at every version:
after publish, replace, rollback, restore, optimize and clearing demo data, as of older versions,
and when the rollup cannot be written at all (issue 7)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from civindex import derived
from civindex.cli import default_params
from civindex.db import Database
from civindex.store import Store

ROLLUP = derived.ROLLUPS[0]
UNITS = ["fgw", "gat", "mzt", "rst"]
DISTRICTS = ["350102", "350103", "350111", None]
CHANNELS = ["评价器", "问卷", "线上", None]
DIMENSIONS = ["rating_attitude", "rating_timeliness", "rating_convenience", "rating_quality"]


def responses(n: int, seed: int, first_id: int = 0, month: date = date(2025, 1, 1)) -> pa.Table:
    """`n` responses over six months from `month`, with missing dimensions, districts, channels
    and weighted rows (response_count > 1 or missing)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 180, n)
    table = {
        "response_id": [f"R{first_id + i:06d}" for i in range(n)],
        "surveyed_on": [month + timedelta(days=int(d)) for d in days],
        "unit_code": rng.choice(UNITS, n).tolist(),
        "district_code": [DISTRICTS[i] for i in rng.integers(0, 4, n)],
        "window_name": [None if i == 0 else f"窗口{i}" for i in rng.integers(0, 3, n)],
        "channel": [CHANNELS[i] for i in rng.integers(0, 4, n)],
        "rating_overall": rng.integers(1, 6, n).tolist(),
        "response_count": [None if c == 0 else int(c) for c in rng.integers(0, 4, n)],
    }
    for name in DIMENSIONS:
        table[name] = [None if v == 0 else int(v) for v in rng.integers(0, 6, n)]
    return pa.table(table)


def raw_monthly(store: Store, version: int | None = None) -> pd.DataFrame:
    """Pooled 满意率 per month straight from the raw rows, in pandas (no rollup, no SQL)."""
    rows = store.read("satisfaction", version).to_pandas()
    rows = rows.assign(
        period_month=pd.to_datetime(rows["surveyed_on"]).dt.to_period("M").dt.to_timestamp(),
        responses=rows["response_count"].fillna(1),
    )
    rows["satisfied"] = rows["responses"].where(rows["rating_overall"] >= 3, 0)
    out = rows.groupby("period_month")[["responses", "satisfied"]].sum().reset_index()
    return out.astype({"responses": float, "satisfied": float})


def raw_dimensions(store: Store) -> dict[str, tuple[float, float, float]]:
    rows = store.read("satisfaction").to_pandas()
    weight = rows["response_count"].fillna(1)
    out = {}
    for name in ["rating_overall", *DIMENSIONS]:
        rated = rows[name].notna()
        n = weight[rated].sum()
        satisfied = weight[rated & (rows[name] >= 3)].sum()
        mean = (weight[rated] * rows.loc[rated, name]).sum() / n
        out[name] = (float(n), float(satisfied), round(float(mean), 9))
    return out


def figures(database: Database) -> pd.DataFrame:
    params = default_params() | {"start": date(2024, 1, 1), "end": date(2026, 12, 1)}
    monthly = database.run("satisfaction_monthly", **params)
    return monthly[["period_month", "responses", "satisfied"]].astype(
        {"responses": float, "satisfied": float}
    )


def assert_in_month_order(path, column: str) -> None:
    """A rollup file lists its groups by month, groups without one last, whether computed
    afresh or updated from the previous version's: a page's month filter then reads one or two
    of its row groups, not all."""
    months = pq.read_table(path, columns=[column])[column].to_pylist()
    dated = [m for m in months if m is not None]
    assert months == sorted(dated) + [None] * (len(months) - len(dated))


def assert_matches_raw_rows(store: Store) -> None:
    database = Database(store)
    for rollup in derived.ROLLUPS:
        key = derived.digest(rollup, database.files["satisfaction"])
        path = derived.find(store, rollup, key)
        assert path is not None  # computed at the commit
        assert_in_month_order(path, rollup.keys[0])
        order = ", ".join(rollup.keys)
        rolled = database.sql(f"select * from {rollup.name} order by {order}")
        recomputed = database.sql(f"select * from ({rollup.sql}) order by {order}")
        pd.testing.assert_frame_equal(rolled, recomputed)  # the same SQL over the raw rows
    pd.testing.assert_frame_equal(figures(database), raw_monthly(store), check_names=False)
    dimensions = database.run("satisfaction_dimensions", **default_params())
    got = {
        row.rating_column: (float(row.responses), float(row.satisfied), round(row.mean_rating, 9))
        for row in dimensions.itertuples()
    }
    assert got == raw_dimensions(store)
    extent = database.run("data_extent").set_index("dataset")
    assert extent.loc["satisfaction", "rows"] == store.count_rows("satisfaction")


@pytest.fixture
def published(store) -> Store:
    store.publish("satisfaction", responses(400, seed=1), user="t", upload_id="u-first")
    return store


def test_publish_writes_the_rollup_of_the_new_version(published):
    assert_matches_raw_rows(published)


def test_a_second_publish_updates_the_rollup_from_the_previous_one(published):
    later = responses(300, seed=2, first_id=1000, month=date(2025, 4, 1))
    published.publish("satisfaction", later, user="t", upload_id="u-second")
    assert len(list(derived.folder(published).glob(f"{ROLLUP.name}-v*.parquet"))) == 2
    assert_matches_raw_rows(published)


def test_a_change_to_more_months_than_are_spliced_sorts_the_rollup_again(published, monkeypatch):
    monkeypatch.setattr(derived, "MAX_SPLICES", 2)  # the next batch spans six months
    later = responses(300, seed=2, first_id=1000, month=date(2025, 4, 1))
    published.publish("satisfaction", later, user="t", upload_id="u-second")
    assert_matches_raw_rows(published)


def test_replace_rollback_restore_and_optimize_keep_the_figures_in_step(published):
    replacing = responses(50, seed=3).set_column(
        0, "response_id", pa.array([f"R{i:06d}" for i in range(50)])
    )
    published.publish(
        "satisfaction", replacing, user="t", upload_id="u-replace", replace_overlap=True
    )
    assert_matches_raw_rows(published)
    published.rollback("u-replace", user="t")
    assert_matches_raw_rows(published)
    published.publish("satisfaction", responses(80, seed=4, first_id=5000), user="t")
    assert_matches_raw_rows(published)
    files = len(published.file_uris("satisfaction", published.version("satisfaction")))
    compacted = published.optimize("satisfaction", user="t")
    assert compacted is not None
    assert len(published.file_uris("satisfaction", compacted.version)) < files
    assert_matches_raw_rows(published)
    published.restore("satisfaction", 0, user="t")
    assert_matches_raw_rows(published)
    restored = derived.digest(ROLLUP, published.file_uris("satisfaction", 0))
    assert derived.find(published, ROLLUP, restored).name.startswith(f"{ROLLUP.name}-v0-")


def test_clearing_demo_rows_leaves_an_empty_rollup_view(store):
    demo = responses(100, seed=5)
    store.publish("satisfaction", demo, user="demo", upload_id="demo-x", is_demo=True)
    extent = Database(store).run("data_extent").set_index("dataset")
    assert extent.loc["satisfaction", ["rows", "demo_rows"]].tolist() == [100, 100]
    store.clear_demo(user="demo")
    database = Database(store)
    assert database.sql(f"select count(*) as n from {ROLLUP.name}")["n"][0] == 0
    assert figures(database).empty


def test_an_older_snapshot_reads_its_own_rollup(published):
    first = raw_monthly(published)
    published.publish("satisfaction", responses(200, seed=6, first_id=9000), user="t")
    old = Database(published, {"satisfaction": 0})
    pd.testing.assert_frame_equal(figures(old), first, check_names=False)
    assert not figures(Database(published)).equals(figures(old))


def test_a_rebuilt_table_never_reads_the_old_tables_rollup(published, tmp_path):
    import shutil

    old = figures(Database(published))
    shutil.rmtree(published.path("satisfaction"))
    published.publish("satisfaction", responses(120, seed=7), user="t")  # version 0 again
    assert published.version("satisfaction") == 0
    new = figures(Database(published))
    assert not new.equals(old)
    pd.testing.assert_frame_equal(new, raw_monthly(published), check_names=False)


def test_without_a_writable_rollup_folder_the_view_computes_the_same(store):
    derived.folder(store).parent.mkdir(parents=True, exist_ok=True)
    derived.folder(store).write_text("not a folder")  # nothing can be written under it
    store.publish("satisfaction", responses(150, seed=8), user="t")
    database = Database(store)
    pd.testing.assert_frame_equal(figures(database), raw_monthly(store), check_names=False)


def test_optimize_command_compacts_and_keeps_the_figures(published, capsys):
    from civindex.cli import main

    published.publish("satisfaction", responses(90, seed=9, first_id=7000), user="t")
    before = figures(Database(published))
    assert main(["--user", "t", "optimize", "--dataset", "satisfaction"]) == 0
    assert "2 file(s) compacted into 1 as version 2" in capsys.readouterr().out
    assert len(published.file_uris("satisfaction", 2)) == 1
    pd.testing.assert_frame_equal(figures(Database(published)), before)
    assert main(["--user", "t", "optimize"]) == 0
    assert "satisfaction: 1 file(s), nothing to compact" in capsys.readouterr().out
