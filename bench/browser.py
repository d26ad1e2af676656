"""Browser timing: a real `streamlit run dashboard.py` and Chromium (Playwright), from navigation
start to the Overview's last chart painted. Cold is the first view after a new snapshot (one index row published and rolled back: two
new versions, the same figures), warm is a reload answered from the caches.

    python -m bench.browser --data DIR [--runs 3] [--charts 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CIVINDEX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every chart has drawn its SVG and the script run is over.
PAINTED = """(charts) => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const drawn = plots.filter((plot) => plot.querySelector('.main-svg')).length;
    const running = document.querySelector('[data-testid="stStatusWidget"]');
    return drawn >= charts && !running;
}"""


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", "dashboard.py"),
            *("--server.port", str(port), "--server.address", "127.0.0.1"),
            *("--server.headless", "true"),
        ],
        cwd=REPO,
        env=os.environ | {"CIVINDEX_DATA_DIR": str(data)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not start")


def server_peak_rss_mb(process: subprocess.Popen) -> float | None:
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return None


def new_snapshot(data: Path) -> None:
    """A new snapshot with the same figures: publish one index row, then roll it back."""
    from datetime import date

    import pyarrow as pa

    from civindex.store import Store

    store = Store(data)
    row = pa.table(
        {
            "round_name": ["bench"],
            "round_date": [date(2000, 1, 1)],
            "round_type": ["模拟测评"],
            "district_code": ["350102"],
            "indicator_code": ["order"],
            "score": [1.0],
            "max_score": [1.0],
        }
    )
    commit = store.publish("index_results", row, user="bench")
    store.rollback(commit.upload_id, user="bench")


def painted_after(page, url: str, charts: int) -> float:
    """Seconds from navigation start to the last chart painted."""
    page.goto(url, wait_until="commit")
    page.wait_for_function(PAINTED, arg=charts, timeout=120_000, polling=10)
    return page.evaluate("performance.now()") / 1000


def measure(data: Path, runs: int, charts: int) -> dict:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    os.environ["CIVINDEX_DATA_DIR"] = str(data)
    process, url = start_server(data)
    cold, warm = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            painted_after(page, url, charts)  # the server's first run: imports, compiled pages
            for _ in range(runs):
                new_snapshot(data)
                cold.append(painted_after(page, url, charts))
                warm.append(painted_after(page, url, charts))
            browser.close()
    finally:
        peak = server_peak_rss_mb(process)
        process.terminate()
        process.wait(timeout=20)
    return {
        "cold_s": cold,
        "warm_s": warm,
        "cold_median_s": statistics.median(cold),
        "warm_median_s": statistics.median(warm),
        "server_peak_rss_mb": peak,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--charts", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.data.resolve(), args.runs, args.charts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
