"""Per-run page context: the store, the snapshot being viewed, the filters, cached queries."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

import pandas as pd
import streamlit as st

from civindex import config, recovery, reference
from civindex.db import Database, load_query, open_database, reference_key, snapshot_key
from civindex.filters import Choices, Filters, default_filters, from_query, has_filter_keys
from civindex.i18n import set_language, t
from civindex.kpi import shift_month
from civindex.schema import DATASETS, UNIT_SYSTEMS
from civindex.store import Snapshot, Store

CONTEXT_KEY = "_civindex_context"
FILTERS_KEY = "_civindex_filters"
# When a list is stored under this key (the benchmark does), every named query a run asks for
# is appended to it as (name, params), so its raw DuckDB time can be measured apart.
QUERY_LOG_KEY = "_civindex_query_log"
PAGE_KEYS = ("focus_unit", "focus_district")
LOG_SETTLE_NS = 2_000_000_000
LATEST_TTL_NS = 5_000_000_000  # where a folder's time does not move on a new file

logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def get_store(root: str) -> Store:
    store = Store(Path(root))
    recovery.recover_once(store)  # what a killed publish left behind, once per process
    return store


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


MAX_RESULTS = 1024
MAX_RESULT_BYTES = 256 * 1024 * 1024
PREFETCH_WORKERS = 4

_results: OrderedDict[str, tuple[pd.DataFrame, int]] = OrderedDict()
_results_bytes = 0
_results_lock = threading.Lock()  # guards _results and _running
_running: dict[str, Future] = {}  # results being prefetched, by key
_pool = ThreadPoolExecutor(max_workers=PREFETCH_WORKERS, thread_name_prefix="prefetch")


def _cached(key: str) -> pd.DataFrame | None:
    with _results_lock:
        hit = _results.get(key)
        if hit is None:
            return None
        _results.move_to_end(key)
        return hit[0]


def _size(frame: pd.DataFrame) -> int:
    """The bytes a result holds: its arrays' buffers, and an object column (a list) counted
    item by item. A third of `memory_usage(deep=True)`'s cost, paid on every first run."""
    size = frame.index.memory_usage()
    for _, column in frame.items():
        deep = column.dtype == object
        size += column.memory_usage(index=False, deep=True) if deep else column.array.nbytes
    return int(size)


def _remember(key: str, frame: pd.DataFrame) -> None:
    global _results_bytes
    size = _size(frame)
    with _results_lock:
        if key in _results:
            return
        _results[key] = (frame, size)
        _results_bytes += size
        while len(_results) > MAX_RESULTS or _results_bytes > MAX_RESULT_BYTES:
            _results_bytes -= _results.popitem(last=False)[1][1]


def clear_results() -> None:
    global _results_bytes
    with _results_lock:
        _results.clear()
        _results_bytes = 0


def _bound(params: tuple) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params}


def _cached_run(key: str, root: str, snapshot: tuple, name: str, params: tuple) -> pd.DataFrame:
    """Query results shared by every session of the process, keyed by the repr of (root,
    snapshot, references, name, params): a new snapshot or reference list is a new key, so a
    result is never out of step with the data. Kept as they are (no pickling), never modified:
    callers get a copy. A result being prefetched is waited for, not computed twice."""
    frame = _cached(key)
    if frame is not None:
        return frame
    with _results_lock:
        running = _running.get(key)
    if running is not None:
        with contextlib.suppress(Exception):  # a failed prefetch: run it here, where it raises
            return running.result()
    elif (frame := _cached(key)) is not None:  # finished between the two looks
        return frame
    frame = open_database(get_store(root), dict(snapshot)).run(name, **_bound(params))
    _remember(key, frame)
    return frame


def _key(root: str, snapshot: tuple, references: tuple, name: str, params: tuple) -> str:
    return repr((root, snapshot, references, name, params))


def _run(root: str, snapshot: tuple, references: tuple, name: str, params: tuple):
    log = st.session_state.get(QUERY_LOG_KEY)
    if isinstance(log, list):
        log.append((name, dict(params)))
    key = _key(root, snapshot, references, name, params)
    return _cached_run(key, root, snapshot, name, params)


def _fill(database: Database, key: str, name: str, params: tuple) -> pd.DataFrame:
    try:
        frame = database.run(name, **_bound(params))
        _remember(key, frame)
        return frame
    finally:
        with _results_lock:
            _running.pop(key, None)


def _prefetch(store: Store, snapshot: Snapshot, references: tuple, requests: list) -> None:
    """Start the queries not yet cached or running, side by side, and return at once: the page
    builds its first charts while DuckDB (which lets go of the GIL) answers the rest on the
    other core. After a new snapshot none is cached."""
    root, version = str(store.root), snapshot_key(snapshot)
    pending = {}
    for name, params in requests:
        key = _key(root, version, references, name, params)
        if _cached(key) is None:
            pending[key] = (name, params)
    if not pending:
        return
    database = open_database(store, snapshot)
    with _results_lock:
        for key, (name, params) in pending.items():
            if key not in _running:
                _running[key] = _pool.submit(_fill, database, key, name, params)


def in_background(read, *args) -> Future:
    """A read that needs no Streamlit call and no language (a thread has neither), started on
    the prefetch threads so a page can make its other reads meanwhile."""
    return _pool.submit(read, *args)


@st.cache_data(max_entries=64, ttl=30, show_spinner=False)
def _snapshot_as_of(root: str, as_of: datetime | None, latest: tuple) -> tuple:
    return snapshot_key(get_store(root).snapshot(as_of))


@dataclass
class PageContext:
    store: Store
    snapshot: Snapshot
    filters: Filters
    choices: Choices
    notices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def root(self) -> str:
        return str(self.store.root)

    def run(self, name: str, **params) -> pd.DataFrame:
        """A named query over this context's snapshot, cached by (query, params, snapshot).
        Only the parameters the SQL uses are in the key: a filter a query ignores (data_extent
        ignores them all) neither runs it again nor fills the cache. The frame is the cached
        one's shallow copy: under pandas' copy-on-write a change to it copies what it changes,
        never the cached result."""
        return _run(
            self.root,
            snapshot_key(self.snapshot),
            self.references,
            name,
            self._params(name, params),
        ).copy(deep=False)

    def _params(self, name: str, params: dict) -> tuple:
        bound = self.filters.params() | params
        used = load_query(name).params
        return tuple(sorted((k, _hashable(v)) for k, v in bound.items() if k in used))

    def queries(self, *requests: str | tuple[str, dict]) -> list[tuple[str, tuple]]:
        """Named queries, by name or as (name, params), bound to this context's filters."""
        named = [(r, {}) if isinstance(r, str) else r for r in requests]
        return [(name, self._params(name, params)) for name, params in named]

    def prefetch(self, *requests: str | tuple[str, dict], also: list | None = None) -> None:
        """Start the page's queries together (`also`: another context's `queries`); its `run`
        calls then find them cached. A query that needs an earlier result cannot be listed."""
        wanted = [*self.queries(*requests), *(also or [])]
        _prefetch(self.store, self.snapshot, self.references, wanted)

    @cached_property
    def references(self) -> tuple:
        """The reference lists' file stamps, read once per run rather than once per query."""
        return reference_key(self.store.root)

    @cached_property
    def _extent(self) -> pd.DataFrame:
        """Asked by the banners, the export bar and every chart's footnote: looked up once."""
        return self.run("data_extent")

    @cached_property
    def has_data(self) -> bool:
        return bool(self._extent["rows"].sum())

    @cached_property
    def demo_rows(self) -> int:
        """Asked by every chart's footnote: summed once per run."""
        return int(self._extent["demo_rows"].sum())

    @property
    def versions_label(self) -> str:
        parts = [f"{t('dataset.' + n)} v{v}" for n, v in self.snapshot.items() if v is not None]
        return " / ".join(parts) or "-"


def _query_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _choices(store: Store, snapshot: Snapshot) -> Choices:
    extent = _run(
        str(store.root), snapshot_key(snapshot), reference_key(store.root), "data_extent", ()
    )
    months = [pd.Timestamp(m).date() for m in extent["first_month"].dropna()]
    last = [pd.Timestamp(m).date() for m in extent["last_month"].dropna()]
    today = date.today().replace(day=1)
    return Choices(
        first_month=min(months) if months else shift_month(today, -12),
        last_month=max(last) if last else shift_month(today, -1),
        districts=list(reference.load("districts", store.root)["district_code"]),
        systems=list(UNIT_SYSTEMS),
        units=list(reference.load("units", store.root)["unit_code"]),
        categories=list(reference.load("categories", store.root)["category_code"]),
    )


_latest: dict[str, tuple[tuple, int, Snapshot]] = {}


def _log_stamps(store: Store) -> tuple:
    stamps = []
    for name in DATASETS:
        try:
            stamps.append(os.stat(store.path(name) / "_delta_log").st_mtime_ns)
        except FileNotFoundError:
            stamps.append(None)
    return tuple(stamps)


def _latest_snapshot(store: Store) -> Snapshot:
    """The latest versions, re-read from the Delta logs only when a log folder has changed
    (a commit adds a file to it), and at least every few seconds. A folder changed in the last
    seconds is always re-read, so coarse timestamps cannot hide a second commit in one tick."""
    stamps, now = _log_stamps(store), time.time_ns()
    known = _latest.get(str(store.root))
    settled = all(s is None or now - s > LOG_SETTLE_NS for s in stamps)
    if known is not None and known[0] == stamps and settled and now - known[1] < LATEST_TTL_NS:
        return dict(known[2])
    snapshot = store.snapshot()
    _latest[str(store.root)] = (stamps, now, snapshot)
    return dict(snapshot)


def build_context() -> PageContext:
    """Resolve language, filters and snapshot for this run; the URL wins over session state."""
    store = get_store(str(config.data_dir()))
    query = _query_params()
    set_language((query.get("lang") or [st.session_state.get("_lang", "zh")])[0])
    if not has_filter_keys(query) and FILTERS_KEY in st.session_state:
        # A page switch clears the URL; carry the session's filters over.
        saved: Filters = st.session_state[FILTERS_KEY]
        query = {k: v if isinstance(v, list) else [v] for k, v in saved.to_query().items()}
        query |= {k: v for k, v in _query_params().items() if k in ("lang", "present")}
    latest = _latest_snapshot(store)
    as_of_text = (query.get("as_of") or [None])[0]
    snapshot = latest
    base_choices = _choices(store, latest)
    filters, notices = from_query(query, base_choices)
    if filters.as_of is not None and as_of_text:
        snapshot = dict(_snapshot_as_of(str(store.root), filters.as_of, snapshot_key(latest)))
    choices = _choices(store, snapshot) if snapshot != latest else base_choices
    if snapshot != latest:
        filters, _ = from_query(query, choices)
    set_language(filters.lang)
    st.session_state["_lang"] = filters.lang
    st.session_state[FILTERS_KEY] = filters
    wanted = filters.to_query()
    # A profile's focus (?focus_unit=, ?focus_district=) is the page's own key: keep it.
    wanted |= {k: v for k, v in _query_params().items() if k in PAGE_KEYS}
    if _query_params() != {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}:
        st.query_params.from_dict(wanted)
    context = PageContext(store, snapshot, filters, choices, notices)
    st.session_state[CONTEXT_KEY] = context
    return context


def _leave_pages_directory_mode() -> None:
    """Streamlit decides per process, before any script runs, whether the app is a legacy
    `pages/` directory app; until some session has called st.navigation it runs a deep link
    such as /warnings as a page of its own, without dashboard.py (no filters, no sign-in, every
    file listed). A page that finds itself run that way switches the flag off and reruns, so
    the run goes through dashboard.py's navigation and lands on the same page."""
    from streamlit.runtime.pages_manager import PagesManager

    # Only a session that has never been through dashboard.py: AppTest resets the flag before
    # every run and then reruns pages alone on purpose, and a rerun would drop a form submit.
    if PagesManager.uses_pages_directory and CONTEXT_KEY not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current() -> PageContext:
    """The context dashboard.py built for this run; pages call this."""
    _leave_pages_directory_mode()
    context = st.session_state.get(CONTEXT_KEY)
    if context is None:
        return build_context()
    # AppTest's switch_page runs a page without dashboard.py: keep the context's language.
    set_language(context.filters.lang)
    return context


def set_filters(filters: Filters) -> None:
    st.session_state[FILTERS_KEY] = filters
    st.query_params.from_dict(filters.to_query())


def default_for(context: PageContext) -> Filters:
    return default_filters(context.choices)


def clear_caches() -> None:
    """Every cache of the process, as after a new snapshot and reference lists: query results,
    open databases, built figures and Streamlit's own. Tests and the benchmark start from here."""
    from civindex import db
    from civindex.ui import figures

    st.cache_data.clear()
    st.cache_resource.clear()
    db._databases.clear()
    figures.clear()
    clear_results()
    _latest.clear()
