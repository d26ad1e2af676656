"""Prefetching a page's queries on a new snapshot (civindex/ui/prefetch.py): the page's second
view after a publish starts the queries its first view asked for, and still shows the new
snapshot's figures, the same as without prefetching (issue 7)."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import streamlit as st
from figures import figures, open_page, traces

from civindex import db
from civindex.ui import figures as figure_cache
from civindex.ui import prefetch


def satisfaction_points(at) -> dict[str, float]:
    trend = traces(figures(at)["overview_satisfaction_trend"])
    line = next(t for name, t in trend.items() if name and "95" not in name)
    return dict(zip(line["x"], line["y"], strict=True))


def unhappy_batch(day: date, n: int = 4000) -> pa.Table:
    return pa.table(
        {
            "response_id": [f"X{i:07d}" for i in range(n)],
            "surveyed_on": [day + timedelta(days=i % 20) for i in range(n)],
            "unit_code": ["gat"] * n,
            "district_code": ["350102"] * n,
            "rating_overall": [1] * n,
            "response_count": [1] * n,
        }
    )


def test_a_new_snapshot_prefetches_the_last_views_queries_and_shows_its_figures(
    demo_store, monkeypatch
):
    started = []
    run_all = prefetch._run_all

    def traced(calls, run, ctx):
        started.append([name for name, _params in calls])
        run_all(calls, run, ctx)

    monkeypatch.setattr(prefetch, "_run_all", traced)
    before = satisfaction_points(open_page("pages/overview.py"))
    assert not started  # nothing known to prefetch on a first view

    last_month = date(2026, 10, 1)
    demo_store.publish("satisfaction", unhappy_batch(last_month), user="t")
    after = satisfaction_points(open_page("pages/overview.py"))

    assert started and {"satisfaction_monthly", "unit_scoreboard"} <= set(started[0])
    month = max(after)
    assert after[month] < before[month]  # the new snapshot's 满意率, not the cached one
    prefetch.forget_states()
    monkeypatch.setattr(prefetch, "_run_all", lambda *args: None)  # no prefetch this time
    st.cache_data.clear()
    db._databases.clear()
    figure_cache.clear()
    assert satisfaction_points(open_page("pages/overview.py")) == after
