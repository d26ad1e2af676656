"""Shared fixtures: real stores in temporary folders, demo data, a real streamlit server and a
real Chromium. Nothing here mocks DuckDB or the store."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from civindex import demo
from civindex.store import Store
from civindex.ui.context import clear_caches

REPO = Path(__file__).resolve().parent.parent
DEMO_END = date(2026, 10, 1)
CHROMIUM = os.environ.get("CIVINDEX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Streamlit caches and open databases outlive a test in one process; start each clean."""
    clear_caches()
    yield


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    """An empty store in a temporary data dir, also set as CIVINDEX_DATA_DIR."""
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(tmp_path))
    return Store(tmp_path)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A data dir holding the default demo data up to October 2026 (built once per session)."""
    root = tmp_path_factory.mktemp("demo")
    demo.build(Store(root), end_month=DEMO_END)
    return root


@pytest.fixture
def demo_store(demo_dir, tmp_path, monkeypatch) -> Store:
    """A private copy of the demo data dir, safe to publish into."""
    root = tmp_path / "data"
    shutil.copytree(demo_dir, root)
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(root))
    return Store(root)


@pytest.fixture
def demo_env(demo_dir, monkeypatch) -> Path:
    """Point the app at the shared demo data dir (read-only use)."""
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(demo_dir))
    return demo_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_streamlit(data_dir: Path, extra_env: dict | None = None):
    port = _free_port()
    env = os.environ | {"CIVINDEX_DATA_DIR": str(data_dir)} | (extra_env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "dashboard.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
        if process.poll() is not None:
            break
    process.kill()
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    raise RuntimeError(f"streamlit did not start:\n{output}")


@pytest.fixture(scope="session")
def server_factory():
    """Start streamlit servers on demand; all are stopped at the end of the session."""
    processes = []

    def start(data_dir: Path, extra_env: dict | None = None) -> str:
        process, url = start_streamlit(data_dir, extra_env)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def demo_server(demo_dir, server_factory) -> str:
    """A real `streamlit run dashboard.py` over the demo data; yields its base URL."""
    return server_factory(demo_dir)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright. Skips locally without it; CI requires it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CIVINDEX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} but CIVINDEX_REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def wait_for_app(tab) -> None:
    """Wait until the script run has finished and the page is painted."""
    tab.wait_for_selector('[data-testid="stApp"]')
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
    tab.wait_for_timeout(300)


def write_sign_ins(root: Path, events: int) -> None:
    """An audit log of `events` sign-ins, u0 first, a month per few hundred: a long log at once,
    without an fsync per line."""
    import json

    from civindex import audit

    log = audit.path(root)
    log.parent.mkdir(parents=True, exist_ok=True)
    per_month = events // 10 + 1
    lines = (
        {
            "at": f"2026-{1 + i // per_month:02d}-02T00:{i % 60:02d}:00+00:00",
            "user": f"u{i}",
            "action": "sign_in",
        }
        for i in range(events)
    )
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
