"""The benchmark's quick mode runs end to end (issue 7): it cannot rot between full runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_measures_every_step(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    block = report["scales"]["20k"]
    assert 15_000 < block["data"]["rows"]["satisfaction"] < 25_000
    assert [row["page"] for row in block["pages"]] == ["overview", "satisfaction"]
    for row in block["pages"]:
        assert row["queries"] > 3
        for mode in ("raw", "cold", "warm", "pandas"):
            assert row[f"{mode}_s"] > 0 and row[f"{mode}_rss_mb"] > 50
        assert row["cold_over_raw"] > 0 and row["pandas_over_cold"] > 0
        assert row["cold_minus_raw_ms"] == pytest.approx((row["cold_s"] - row["raw_s"]) * 1000)
        measured = block["raw"][row["page"]]
        for mode in ("raw", "cold", "warm"):  # one run in each of two rounds, pooled
            assert len(measured[mode]["seconds"]) == 2
            assert row[f"{mode}_s"] == statistics.median(measured[mode]["seconds"])
        parts = measured["raw"]  # its parts pooled too; the unmeasured first run left out
        assert len(parts["opens"]) == 2 and row["open_s"] == statistics.median(parts["opens"])
        assert all(len(times) == 2 for times in parts["per_query"].values())
        assert set(parts["per_query"]) == {q["name"] for q in captured(tmp_path, row["page"])}
    correction = block["correction"]  # 5,000 new responses, 500 of them corrected, undone
    assert correction["publish"]["rows_after"] == correction["rows_before"] + 5_000
    assert correction["replace"]["action"] == "replace"
    assert correction["replace"]["rows_after"] == correction["rows_before"] + 5_000
    assert correction["rollback"]["rows_after"] == correction["rows_before"] + 5_000
    assert all(correction[step]["peak_rss_mb"] > 50 for step in ("publish", "replace", "rollback"))
    assert {"satisfaction_monthly", "unit_scoreboard"} <= {
        q["name"] for q in captured(tmp_path, "overview")
    }
    assert report["ingest"]["ingest_publish"]["exit"] == 0
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| overview | " in text and "SPEC §7 at 20k" in text and "## Ingest" in text
    assert "## Corrections into the lake" in text


def captured(out: Path, page: str) -> list[dict]:
    return json.loads((out / "20k" / f"queries_{page}.json").read_text(encoding="utf-8"))


def test_raw_time_of_the_snapshots_page_makes_the_reads_the_page_makes(demo_env, monkeypatch):
    """数据快照 lists the logs rather than querying the data, so its raw time includes the log
    reads `bench.measure.store_reads` makes. Those must stay the reads the page makes."""
    from streamlit.testing.v1 import AppTest

    from bench.measure import store_reads
    from civindex import audit, recovery
    from civindex.store import Store
    from civindex.ui.exports import START_PAGE_KEY

    recovery.recover_once(Store(demo_env))  # once per process, at a server's start: not the page's
    reads: list[str] = []
    inside_snapshot = []

    def observed(name, method):
        def call(*args, **kwargs):
            if not inside_snapshot:
                reads.append(name)
            return method(*args, **kwargs)

        return call

    def snapshot(self, *args, **kwargs):  # the latest versions every page reads first
        inside_snapshot.append(True)
        try:
            return original_snapshot(self, *args, **kwargs)
        finally:
            inside_snapshot.pop()

    original_snapshot = Store.snapshot
    monkeypatch.setattr(Store, "snapshot", snapshot)
    for name in ("batches", "version", "history"):
        monkeypatch.setattr(Store, name, observed(name, getattr(Store, name)))
    monkeypatch.setattr(audit, "read", observed("audit.read", audit.read))

    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=120)
    at.session_state[START_PAGE_KEY] = "pages/snapshots.py"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe, "the page showed no table: it did not get past its access check"
    page_reads = sorted(reads)

    reads.clear()
    store_reads("snapshots", Store(demo_env))
    assert sorted(reads) == page_reads, (sorted(reads), page_reads)


def test_the_benchmark_waits_on_the_script_and_still_reports_a_run_that_hangs(
    tmp_path, monkeypatch
):
    """bench.measure blocks on AppTest's script thread rather than polling it: a run comes back
    whole, and a run past its timeout is stopped and reported, as AppTest's own wait does."""
    from streamlit.testing.v1 import AppTest, local_script_runner

    from bench import measure

    monkeypatch.setattr(local_script_runner, "require_widgets_deltas", measure._wait_for_the_run)
    script = tmp_path / "page.py"
    script.write_text(
        "import time\nimport streamlit as st\n"
        "st.title('first')\n"
        "if st.session_state.get('hang'):\n    time.sleep(2)\n"
        "st.caption('last')\n",
        encoding="utf-8",
    )
    app = AppTest.from_file(str(script), default_timeout=10)
    app.run()
    assert [t.value for t in app.title] == ["first"]
    assert [c.value for c in app.caption] == ["last"]
    hung = AppTest.from_file(str(script), default_timeout=0.5)
    hung.session_state["hang"] = True
    with pytest.raises(RuntimeError, match=r"timed out after 0\.5"):
        hung.run()
