"""The benchmark's quick mode runs end to end (issue 7): it cannot rot between full runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    captured = json.loads((tmp_path / "20k" / "queries_overview.json").read_text())
    assert {"satisfaction_monthly", "unit_scoreboard"} <= {q["name"] for q in captured}
    assert report["ingest"]["ingest_publish"]["exit"] == 0
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| overview | " in text and "SPEC §7 at 20k" in text and "## Ingest" in text
