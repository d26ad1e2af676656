"""Per-run page context: the store, the snapshot being viewed, the filters, cached queries."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

import pandas as pd
import streamlit as st

from civindex import config, recovery, reference
from civindex.db import load_query, open_database, reference_key, snapshot_key
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


@st.cache_resource(show_spinner=False)
def get_store(root: str) -> Store:
    store = Store(Path(root))
    recovery.recover_once(store)  # what a killed publish left behind, once per process
    return store


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


@st.cache_data(max_entries=1024, show_spinner=False)
def _cached_run(key: str, _root: str, _snapshot: tuple, _name: str, _params: tuple):
    """`key` is the repr of (root, snapshot, references, name, params): Streamlit hashes that one
    string instead of walking every parameter, which was most of a warm page's time."""
    database = open_database(get_store(_root), dict(_snapshot))
    bound = {k: list(v) if isinstance(v, tuple) else v for k, v in _params}
    return database.run(_name, **bound)


def _run(root: str, snapshot: tuple, references: tuple, name: str, params: tuple):
    log = st.session_state.get(QUERY_LOG_KEY)
    if isinstance(log, list):
        log.append((name, dict(params)))
    key = repr((root, snapshot, references, name, params))
    return _cached_run(key, root, snapshot, name, params)


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
        Only the parameters the SQL uses are in the key: a filter a query ignores (demo_rows
        and data_extent ignore them all) neither runs it again nor fills the cache."""
        bound = self.filters.params() | params
        used = load_query(name).params
        key = tuple(sorted((k, _hashable(v)) for k, v in bound.items() if k in used))
        return _run(
            self.root,
            snapshot_key(self.snapshot),
            self.references,
            name,
            key,
        ).copy()

    @cached_property
    def references(self) -> tuple:
        """The reference lists' file stamps, read once per run rather than once per query."""
        return reference_key(self.store.root)

    @property
    def has_data(self) -> bool:
        return bool(self.run("data_extent")["rows"].sum())

    @property
    def demo_rows(self) -> int:
        return int(self.run("demo_rows")["demo_rows"].sum())

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
