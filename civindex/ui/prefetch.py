"""Start a page's queries before it asks for them, the first time it runs on a new snapshot.

After a publish every query of a page misses its cache, and the page would run them one by one
between building its charts. The last run of the same page with the same URL recorded which
queries it asked for (a plan); when the snapshot has changed since, those queries start at once
in a background thread, so DuckDB (which releases the GIL) works while the page's Python builds
figures, and the page finds them computed or being computed (Streamlit's per-key lock makes it
wait rather than run a query twice). A plan is only a guess: a query the page no longer asks
for costs one wasted run, and the page never reads a prefetched result it did not ask for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import (
    add_script_run_ctx,
    get_script_run_ctx,
)

RECORD_KEY = "_civindex_prefetch_record"
MAX_PLANS = 256

Call = tuple[str, tuple]  # (query name, params key)


@dataclass
class Plan:
    state: tuple | None  # (snapshot key, references) the calls were made at; None: stale
    calls: list[Call] = field(default_factory=list)


_plans: OrderedDict[tuple, Plan] = OrderedDict()
_lock = threading.Lock()
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="civindex-prefetch")


def _page_key(root: str) -> tuple:
    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else ""
    query = tuple(sorted((k, tuple(st.query_params.get_all(k))) for k in st.query_params))
    return (root, page, query)


def start_recording() -> None:
    """Record the queries of this run from here on (the top of every run)."""
    st.session_state[RECORD_KEY] = []


def record(name: str, params: tuple) -> None:
    recording = st.session_state.get(RECORD_KEY)
    if isinstance(recording, list):
        recording.append((name, params))


def begin(root: str, state: tuple, run: Callable[[str, tuple], object]) -> None:
    """Keep this run's queries as the page's plan; when `state` (the snapshot and reference
    lists) is new to the last plan, run its queries now. `run(name, params)` caches one."""
    recording = st.session_state.get(RECORD_KEY)
    if not isinstance(recording, list):
        return
    key = _page_key(root)
    with _lock:
        previous = _plans.get(key)
        _plans[key] = Plan(state, recording)
        _plans.move_to_end(key)
        while len(_plans) > MAX_PLANS:
            _plans.popitem(last=False)
    if previous is None or previous.state == state or not previous.calls:
        return
    calls = [call for call in dict.fromkeys(previous.calls) if call not in recording]
    _executor.submit(_run_all, calls, run, get_script_run_ctx())


def forget_states() -> None:
    """Treat every plan as made on an older snapshot (the benchmark's cold runs)."""
    with _lock:
        for plan in _plans.values():
            plan.state = None


def _run_all(calls: list[Call], run: Callable[[str, tuple], object], ctx) -> None:
    if ctx is not None:
        add_script_run_ctx(threading.current_thread(), ctx)
    for name, params in calls:
        try:
            run(name, params)
        except Exception:  # the page runs it again itself and shows the error
            continue
