"""Hostile text published and viewed in a real Chromium against a real `streamlit run`: window
names, a round name and an upload's file name carrying script, event handlers and markup. No
script runs (no dialog, no window.__pwned), no element comes out of the text, and the text is
shown as the characters it is."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from hostile_files import MARKUP, SURVEY
from ingest_files import csv_bytes

from civindex import ingest

pytestmark = pytest.mark.browser

ROUND = "<script>window.__pwned=1</script>第四季度模拟测评"
FILE_NAME = "<img src=x onerror=alert(9)>.csv"
PAGES = [
    "",
    "satisfaction",
    "index_results",
    "district_profile?district=350102",
    "warnings?district=350102",
    "snapshots",
]
CHARTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .every(plot => plot.querySelector('.main-svg text'))"""
INJECTED = """() => ({
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    images: document.querySelectorAll('img[src="x"]').length,
    frames: [...document.querySelectorAll('iframe')].filter(f => /javascript/i.test(f.src)).length,
    svg_handlers: document.querySelectorAll('svg[onload]').length,
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(
        a => a.name.startsWith('on') && /alert|pwned/.test(a.value))).length,
    scripts: [...document.scripts].filter(s => s.textContent.includes('__pwned')).length,
    bold: [...document.querySelectorAll('b, tspan')].filter(
        e => e.textContent.trim() === '加粗' && getComputedStyle(e).fontWeight >= 600).length,
})"""


def publish_hostile_text(store) -> None:
    rows = [
        [f"X{k}-{i}", "2026-10-15", "省公安厅", "鼓楼区", "非常不满意", text]
        for k, text in enumerate(MARKUP)
        for i in range(40)
    ]
    prepared = ingest.prepare(csv_bytes([SURVEY, *rows]), FILE_NAME, "satisfaction", store=store)
    assert prepared.ok, prepared.report.text()
    ingest.publish(prepared, store, user="analyst")
    header = ["测评批次", "测评日期", "批次类型", "区县", "测评项目", "得分", "满分"]
    points = {"key_tasks": 29, "environment": 22, "order": 18, "welfare": 26, "relations": 5}
    body = [[ROUND, "2026-10-20", "模拟测评", "鼓楼区", k, p * 0.9, p] for k, p in points.items()]
    prepared = ingest.prepare(csv_bytes([header, *body]), "round.csv", "index_results", store=store)
    assert prepared.ok, prepared.report.text()
    ingest.publish(prepared, store, user="analyst")


def test_hostile_text_is_shown_as_text_and_never_runs(demo_store, server_factory, page):
    publish_hostile_text(demo_store)
    url = server_factory(demo_store.root)
    page.set_default_timeout(60_000)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    shown = ""
    for path in PAGES:
        separator = "&" if "?" in path else "?"
        page.goto(f"{url}/{path}{separator}from=2026-01&to=2026-10")
        page.wait_for_selector('[data-testid="stMain"] h1')  # the page's own script ran
        wait_for_app(page)
        page.wait_for_function(CHARTS_DRAWN)  # Plotly draws after the script run
        found = page.evaluate(INJECTED)
        assert found == {
            "pwned": None,
            "images": 0,
            "frames": 0,
            "svg_handlers": 0,
            "handlers": 0,
            "scripts": 0,
            "bold": 0,
        }, path
        shown += page.evaluate(
            "() => document.body.innerText + [...document.querySelectorAll('svg text')]"
            ".map(t => t.textContent).join(' ')"
        )
    assert dialogs == []
    # the text was on screen, as characters: a window name, the round name, the file name
    assert "onerror=" in shown and "<script>" in shown and "</script>" in shown
