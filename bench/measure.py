"""One measurement in its own process, so its peak RSS is its own:

    python -m bench.measure MODE --data DIR --page PAGE [--runs N] [--queries FILE]

MODE is `capture` (run the page once and write the named queries it asked for to FILE), `raw`
(those queries on a fresh `Database` over the same snapshot), `cold` (the page's full script run
after every cache is dropped: a new snapshot), `warm` (the same run answered from the caches) or
`pandas` (the baseline in bench/baseline.py). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGE_SCRIPTS = {
    "overview": "pages/overview.py",
    "participation": "pages/participation.py",
    "satisfaction": "pages/satisfaction.py",
    "index": "pages/index_results.py",
    "unit": "pages/unit_profile.py",
    "district": "pages/district_profile.py",
    "warnings": "pages/warnings.py",
    "snapshots": "pages/snapshots.py",
}


def peak_rss_mb() -> float:
    """This process image's peak RSS. VmHWM first: ru_maxrss of a spawned child starts at its
    parent's peak, which would charge the driver's memory to the measurement."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def encode(params: dict) -> dict:
    def value(v):
        if isinstance(v, date):
            return {"date": v.isoformat()}
        return list(v) if isinstance(v, tuple) else v

    return {k: value(v) for k, v in params.items()}


def decode(params: dict) -> dict:
    def value(v):
        return date.fromisoformat(v["date"]) if isinstance(v, dict) else v

    return {k: value(v) for k, v in params.items()}


def drop_caches() -> None:
    """What a new snapshot means to a running server: no cached results, a new Database."""
    from civindex.ui.context import clear_caches

    clear_caches()


_server: dict = {}


def _as_a_server() -> None:
    """What a running server does once, not on every script run: AppTest would scan every
    installed package for components (~60 ms) and compile the scripts again on each new
    AppTest. One component registry and one script cache for the process, as `streamlit run`
    keeps them.

    And no poller beside the script: AppTest's thread waits for the run by waking every
    millisecond to scan the run's events, so it takes the GIL from the script and its queries
    hundreds of times a run (the cold index page ran 5-12 ms longer with it). A server's event
    loop wakes only to send what the script enqueued; here the thread waits on the script's."""
    if _server:
        return
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    local_script_runner.require_widgets_deltas = _wait_for_the_run
    scripts = ScriptCache()  # the page scripts' runner and dashboard.py's each make their own
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: scripts
    _server["components"] = components


def _wait_for_the_run(runner, timeout: float = 3) -> None:
    """AppTest's `require_widgets_deltas`, blocking on the script thread instead of polling."""
    thread = runner._script_thread
    if thread is not None:
        thread.join(timeout)
    if not runner.script_stopped():
        runner.request_stop()
        runner.join()
        raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")


def page_run(page: str, timeout: float):
    """dashboard.py itself, starting on the page (as the deck command runs it), and what a
    server's script runner does after the run that AppTest's does not: the full garbage
    collection `runner.postScriptGC` asks for (off in .streamlit/config.toml)."""
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    from civindex.ui.context import QUERY_LOG_KEY
    from civindex.ui.exports import START_PAGE_KEY

    _as_a_server()
    app = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=timeout)
    app._bidi_component_manager = _server["components"]
    app.session_state[START_PAGE_KEY] = PAGE_SCRIPTS[page]
    app.session_state[QUERY_LOG_KEY] = []
    started = time.perf_counter()
    app.run()
    if st_config.get_option("runner.postScriptGC"):
        gc.collect(2)
    seconds = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(f"{page}: {app.exception[0].value}")
    return seconds, app


def capture(page: str, out: Path, timeout: float) -> dict:
    from civindex.ui.context import QUERY_LOG_KEY
    from civindex.ui.exports import SPECS_KEY

    _seconds, app = page_run(page, timeout)
    seen, queries = set(), []
    for name, params in app.session_state[QUERY_LOG_KEY]:
        key = (name, json.dumps(encode(params), sort_keys=True))
        if key not in seen:
            seen.add(key)
            queries.append({"name": name, "params": encode(params)})
    out.write_text(json.dumps(queries, ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "queries": len(queries),
        "calls": len(app.session_state[QUERY_LOG_KEY]),
        "charts": len(app.session_state[SPECS_KEY]) if SPECS_KEY in app.session_state else 0,
    }


def store_reads(page: str, store) -> None:
    """The reads of a page that lists the logs rather than querying the data: 快照与审计 shows
    every batch (Delta history and live files), one dataset's versions and the audit log.
    tests/test_bench.py checks that they are the reads the page makes."""
    if page == "snapshots":
        from civindex import audit
        from civindex.schema import DATASETS

        first = next(iter(DATASETS))
        store.batches()
        store.version(first)
        store.history(first)
        audit.read(store.root)


def raw_medians(opens: list, reads: list, per_query: dict) -> dict:
    """The parts of a raw run, as medians of the runs: opening the Database, the log reads
    and each query."""
    return {
        "open_s": statistics.median(opens),
        "store_reads_s": statistics.median(reads),
        "per_query_s": {k: round(statistics.median(v), 4) for k, v in per_query.items()},
    }


def raw(queries: list[dict], runs: int, page: str) -> dict:
    from civindex.db import Database
    from civindex.store import Store

    seconds, opens, reads, per_query = [], [], [], {}
    # One run first, not measured, as the cold runs have: the DuckDB instance, the parsed
    # reference lists and the imports are what a running server already holds.
    for run in range(runs + 1):
        store = Store()  # as fresh as the cold run's: nothing it read before is kept
        snapshot = store.snapshot()
        started = time.perf_counter()
        database = Database(store, snapshot)
        opened = time.perf_counter()
        times = {}
        for query in queries:
            began = time.perf_counter()
            database.run(query["name"], **decode(query["params"]))
            times[query["name"]] = time.perf_counter() - began
        began = time.perf_counter()
        store_reads(page, store)
        finished = time.perf_counter()
        database.connection.close()
        if run == 0:
            continue
        for name, took in times.items():
            per_query.setdefault(name, []).append(took)
        reads.append(finished - began)
        seconds.append(finished - started)
        opens.append(opened - started)
    return {
        "seconds": seconds,
        "opens": opens,
        "reads": reads,
        "per_query": per_query,
        **raw_medians(opens, reads, per_query),
    }


def page_times(page: str, runs: int, cold: bool, timeout: float) -> dict:
    page_run(page, timeout)  # imports, compiled scripts, OS file cache: what a running server has
    seconds = []
    for _ in range(runs):
        if cold:
            drop_caches()
        seconds.append(page_run(page, timeout)[0])
    return {"seconds": seconds}


def pandas_times(page: str, runs: int) -> dict:
    from bench import baseline
    from civindex.store import Store

    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        baseline.run(Store(), page)
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("capture", "raw", "cold", "warm", "pandas"))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--page", choices=list(PAGE_SCRIPTS), required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    os.environ["CIVINDEX_DATA_DIR"] = str(args.data.resolve())
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.mode == "capture":
        result = capture(args.page, args.queries, args.timeout)
    elif args.mode == "raw":
        queries = json.loads(args.queries.read_text(encoding="utf-8"))
        result = raw(queries, args.runs, args.page)
    elif args.mode == "pandas":
        result = pandas_times(args.page, args.runs)
    else:
        result = page_times(args.page, args.runs, args.mode == "cold", args.timeout)
    if "seconds" in result:
        result["median_s"] = statistics.median(result["seconds"])
    result |= {"mode": args.mode, "page": args.page, "peak_rss_mb": round(peak_rss_mb())}
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
