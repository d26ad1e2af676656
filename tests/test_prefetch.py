"""A page's queries run side by side after a new snapshot (PageContext.prefetch): dashboard.py
starts a page's opening queries (civindex/ui/opening.py) and the page the ones that need an
earlier result. A list that drifts from what the page asks for would run a query twice, or one
by one again. Every page runs on the demo data with Database.run observed: no query runs twice, the page
itself runs only the queries that need an earlier result, and every result computed side by side
equals the same query run alone on a fresh Database."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from civindex.db import Database
from civindex.store import Store
from civindex.ui import context as context_module
from civindex.ui.exports import START_PAGE_KEY

REPO_DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")

# the queries a page can only ask for once an earlier result is in
DEPENDENT = {
    "pages/overview.py": set(),
    "pages/participation.py": set(),
    "pages/satisfaction.py": set(),
    "pages/index_results.py": set(),
    "pages/unit_profile.py": set(),
    "pages/district_profile.py": set(),
    "pages/warnings.py": set(),
}


@pytest.fixture
def observed(monkeypatch) -> list[tuple]:
    """(thread name, query, params key, params, result) of every query a Database runs."""
    calls: list[tuple] = []
    run = Database.run

    def recording(self, name, **params):
        result = run(self, name, **params)
        bound = repr(sorted((k, repr(v)) for k, v in params.items()))
        calls.append((threading.current_thread().name, name, bound, params, result))
        return result

    monkeypatch.setattr(Database, "run", recording)
    return calls


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(REPO_DASHBOARD, default_timeout=120)
    at.session_state[START_PAGE_KEY] = page
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", list(DEPENDENT))
def test_page_queries_run_once_and_side_by_side(demo_env, observed, page):
    run_page(page)
    ran = Counter((name, params) for _thread, name, params, *_ in observed)
    assert [key for key, times in ran.items() if times > 1] == []
    alone = {name for thread, name, *_ in observed if not thread.startswith("prefetch")}
    assert alone <= DEPENDENT[page] | {"data_extent"}  # the months come first: the filters
    side_by_side = [name for thread, name, *_ in observed if thread.startswith("prefetch")]
    assert len(side_by_side) >= (2 if page == "pages/index_results.py" else 4)


def test_a_unit_with_a_window_fetches_its_satisfaction_with_the_rest(demo_env, observed):
    at = AppTest.from_file(REPO_DASHBOARD, default_timeout=120)
    at.session_state[START_PAGE_KEY] = "pages/unit_profile.py"
    at.query_params["focus_unit"] = "gat"  # 省公安厅: service windows
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    by_thread = {name: thread for thread, name, *_ in observed}
    assert by_thread["profile_windows"].startswith("prefetch")
    assert by_thread["satisfaction_monthly"].startswith("prefetch")


def test_results_computed_side_by_side_equal_a_query_alone(demo_env, observed):
    run_page("pages/overview.py")
    run_page("pages/unit_profile.py")
    side_by_side = [call for call in observed if call[0].startswith("prefetch")]
    assert len(side_by_side) >= 15
    fresh = Database(Store(demo_env))
    for _thread, name, _key, params, result in side_by_side:
        pd.testing.assert_frame_equal(result, fresh.run(name, **params), obj=name)


def test_cache_is_bounded_by_bytes(monkeypatch):
    monkeypatch.setattr(context_module, "MAX_RESULT_BYTES", 10_000)
    context_module.clear_results()
    frame = pd.DataFrame({"value": range(500)})  # 4,000 bytes of values, plus the index
    for i in range(5):
        context_module._remember(f"k{i}", frame)
    assert context_module._cached("k0") is None
    assert context_module._cached("k4") is frame
    assert context_module._results_bytes <= 10_000
    context_module.clear_results()


def test_a_results_size_counts_its_text_and_lists():
    """The byte bound holds for what a result really holds: a text column's characters and a
    list column's items, not only the pointers to them."""
    text = "福州市鼓楼区东街口便民服务窗口" * 20  # 900 bytes in UTF-8
    frame = pd.DataFrame({"window_name": pd.Series([text] * 1_000, dtype="str")})
    frame["months"] = [[1, 2, 3, 4, 5, 6]] * 1_000
    size = context_module._size(frame)
    assert size >= 1_000 * len(text.encode("utf-8"))
    assert size == int(frame.memory_usage(index=True, deep=True).sum())


def test_what_a_page_does_to_a_result_never_reaches_the_cached_one(demo_env):
    """Pages add columns, set cells and replace columns of the frames `PageContext.run` gives; the
    result shared by every session must come out of each run as the query made it."""
    from civindex.filters import default_filters
    from civindex.ui.context import PageContext, _choices

    store = Store(demo_env)
    snapshot = store.snapshot()
    choices = _choices(store, snapshot)
    context = PageContext(store, snapshot, default_filters(choices), choices)
    fresh = Database(Store(demo_env)).run("participation_by_unit", **context.filters.params())
    first = context.run("participation_by_unit")
    first["unit_label"] = "changed"
    first.loc[first.index[0], "activities"] = -1
    first["participants"] = first["participants"].to_numpy()[::-1]
    first["tasks_claimed"] *= 100
    again = context.run("participation_by_unit")
    pd.testing.assert_frame_equal(again, fresh[list(again.columns)])
    assert "unit_label" not in again
