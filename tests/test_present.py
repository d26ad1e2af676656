"""Presentation mode and the page's deck download, in AppTest and in a real browser."""

from __future__ import annotations

import json

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from civindex.config import REPO_ROOT


def _app(params: dict[str, str]) -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "dashboard.py"), default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_presentation_mode_hides_the_sidebar_and_keeps_charts_and_footnotes(demo_env):
    normal = _app({})
    assert len(normal.sidebar) > 0
    presenting = _app({"present": "1"})
    assert len(presenting.sidebar) == 0
    css = [m.value for m in presenting.markdown if "stSidebar" in m.value]
    assert css and "display: none" in css[0]
    assert len(presenting.metric) == len(normal.metric) > 0
    charts = presenting.get("plotly_chart")
    assert charts, "charts stay in presentation mode"
    layout = json.loads(charts[0].proto.spec)["layout"]
    annotations = " ".join(a.get("text", "") for a in layout.get("annotations", []))
    assert "数据来源" in annotations
    # The URL keeps present=1 so a copied link opens the same clean view.
    assert presenting.query_params["present"] == ["1"] or presenting.query_params["present"] == "1"


@pytest.mark.browser
def test_presentation_mode_in_the_browser_is_chrome_free(page, demo_server):
    page.set_viewport_size({"width": 1600, "height": 900})
    page.goto(f"{demo_server}/?present=1&from=2026-01&to=2026-10")
    wait_for_app(page)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_be_visible()
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stHeader"]').is_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible(timeout=30_000)


@pytest.mark.browser
def test_deck_downloads_from_the_page(page, demo_server):
    page.goto(f"{demo_server}/?from=2026-01&to=2026-10")
    wait_for_app(page)
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible(timeout=30_000)
    button = page.get_by_role("button", name="下载PPT")
    expect(button).to_be_visible()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.endswith(".pptx")
    assert "202601-202610" in download.suggested_filename
    deck = Presentation(str(download.path()))
    charts = [s for slide in deck.slides for s in slide.shapes if s.has_chart]
    assert len(deck.slides) >= 3 and charts
    first = " ".join(s.text_frame.text for s in deck.slides[0].shapes if s.has_text_frame)
    assert "总览" in first and "模拟数据" in first
