"""Load and soak of a real `streamlit run` through Streamlit's websocket protocol (bench/load.py):
concurrent sessions opening the Overview and changing filters, then sessions opened and closed
one after another. CI runs a small version; CIVINDEX_LOAD=full runs 50 sessions for 60 s and
300 open/close cycles (the figures in the README)."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor

from bench.load import measure, start_server

FULL = os.environ.get("CIVINDEX_LOAD") == "full"
SESSIONS, SECONDS, CYCLES = (50, 60, 300) if FULL else (8, 8, 30)


def test_concurrent_sessions_and_a_soak(demo_dir, tmp_path):
    process, url = start_server(demo_dir, tmp_path / "server.log")
    try:
        # a thread of its own: Playwright's sync API may hold this thread's event loop
        with ThreadPoolExecutor(1) as thread:
            run = measure(url, process.pid, SESSIONS, SECONDS, CYCLES)
            result = thread.submit(asyncio.run, run).result()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print("\n" + json.dumps(result, ensure_ascii=False))
    assert result["sessions"] == SESSIONS
    assert result["failed_sessions"] == 0, result["failures"]
    assert result["filter_changes"] >= SESSIONS
    assert result["first_render_p95_s"] < (60 if FULL else 30)
    assert result["filter_change_p95_s"] < 30
    assert result["rss_end_mb"] - result["rss_after_warm_up_mb"] < 50
