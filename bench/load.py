"""Load and soak of a real `streamlit run dashboard.py`, driven by Streamlit websocket clients
on loopback (the browser's own protocol: a BackMsg asks for a script run, ForwardMsgs stream the
page back until `script_finished`).

    python -m bench.load [--sessions 50] [--seconds 60] [--cycles 300] [--data DIR]

Load: `sessions` clients at once, each opening the Overview (first render: connect → script
finished) and then changing filters (a rerun with another district and period in the query
string, as a copied link or the filter bar sets them) until `seconds` are up. A session fails
on a dropped connection, a script error or no `script_finished` within the timeout. Soak:
`cycles` sessions opened and closed one after another; the server's RSS after warm-up and at the
end. Prints JSON; without --data it builds the demo data in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket as sockets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO = Path(__file__).resolve().parent.parent
FILTERS = [
    "district=350102&from=2026-01",
    "district=350103,350104&from=2025-06",
    "from=2024-01&to=2025-12",
    "district=350111",
]
TIMEOUT_S = 120


class SessionFailed(Exception):
    pass


@dataclass
class Figures:
    first_render_s: list[float] = field(default_factory=list)
    filter_change_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sessions: int = 0


def start_server(data: Path, log: Path, extra_env: dict | None = None) -> tuple:
    """`streamlit run dashboard.py` on a free loopback port; (process, base URL)."""
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"CIVINDEX_DATA_DIR": str(data)} | (extra_env or {})
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard.py")]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with open(log, "ab") as output:  # a file, never a pipe nobody reads: it would fill up
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {log}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values or [0])[0]


async def script_run(socket, query: str) -> float:
    """Ask for a run with `query` as the URL's query string; seconds until it finished."""
    message = BackMsg()
    message.rerun_script.query_string = query
    started = time.perf_counter()
    await socket.send(message.SerializeToString())
    deltas = 0
    while True:
        forward = ForwardMsg()
        forward.ParseFromString(await asyncio.wait_for(socket.recv(), TIMEOUT_S))
        kind = forward.WhichOneof("type")
        if kind == "delta":
            deltas += 1
            if forward.delta.new_element.WhichOneof("type") == "exception":
                raise SessionFailed(forward.delta.new_element.exception.message[:200])
        elif kind == "script_finished":
            if forward.script_finished != 0 or not deltas:  # 0: finished successfully
                raise SessionFailed(f"script_finished={forward.script_finished}, {deltas} deltas")
            return time.perf_counter() - started


def stream_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/_stcore/stream"


async def session(url: str, until: float, figures: Figures, number: int) -> None:
    try:
        async with websockets.connect(stream_url(url), max_size=None, open_timeout=60) as socket:
            started = time.perf_counter()
            await script_run(socket, "")
            figures.first_render_s.append(time.perf_counter() - started)
            turn = number
            while time.perf_counter() < until:
                figures.filter_change_s.append(
                    await script_run(socket, FILTERS[turn % len(FILTERS)])
                )
                turn += 1
    except Exception as error:  # any failure counts; the message says which
        figures.failures.append(f"session {number}: {type(error).__name__}: {error}"[:300])
    figures.sessions += 1


async def load(url: str, sessions: int, seconds: float) -> Figures:
    figures = Figures()
    until = time.perf_counter() + seconds
    await asyncio.gather(*(session(url, until, figures, i) for i in range(sessions)))
    return figures


async def soak(url: str, pid: int, cycles: int) -> dict:
    """Open a session, render the Overview, close; `cycles` times. RSS after warm-up (a tenth
    of the cycles, at most 30: caches filled) and at the end."""
    rss, warm_up = [], min(30, cycles // 10)
    for cycle in range(cycles):
        if cycle == warm_up:
            rss.append(rss_mb(pid))
        async with websockets.connect(stream_url(url), max_size=None) as socket:
            await script_run(socket, FILTERS[cycle % len(FILTERS)] if cycle % 2 else "")
    rss.append(rss_mb(pid))
    return {"cycles": cycles, "rss_after_warm_up_mb": round(rss[0]), "rss_end_mb": round(rss[-1])}


def summary(figures: Figures, rss_before: float, rss_peak: float) -> dict:
    return {
        "sessions": figures.sessions,
        "failed_sessions": len(figures.failures),
        "failures": figures.failures[:5],
        "first_render_p50_s": round(statistics.median(figures.first_render_s), 2),
        "first_render_p95_s": round(p95(figures.first_render_s), 2),
        "filter_changes": len(figures.filter_change_s),
        "filter_change_p50_s": round(statistics.median(figures.filter_change_s or [0]), 2),
        "filter_change_p95_s": round(p95(figures.filter_change_s), 2),
        "server_rss_before_mb": round(rss_before),
        "server_rss_peak_mb": round(rss_peak),
    }


async def watch_rss(pid: int, peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.2)


async def measure(url: str, pid: int, sessions: int, seconds: float, cycles: int) -> dict:
    before, peak = rss_mb(pid), [0.0]
    watcher = asyncio.create_task(watch_rss(pid, peak))
    figures = await load(url, sessions, seconds)
    watcher.cancel()
    result = summary(figures, before, peak[0])
    if cycles:
        result |= await soak(url, pid, cycles)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--data", type=Path, help="a data dir (default: demo data in a temp dir)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from civindex import demo
    from civindex.store import Store

    with tempfile.TemporaryDirectory() as folder:
        data = args.data
        if data is None:
            data = Path(folder) / "data"
            demo.build(Store(data))
        process, url = start_server(data, Path(folder) / "server.log")
        try:
            result = asyncio.run(
                measure(url, process.pid, args.sessions, args.seconds, args.cycles)
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
