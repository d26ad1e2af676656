"""Real Chromium against `streamlit run dashboard.py` on loopback, over the demo data."""

from __future__ import annotations

import pytest
from conftest import DEMO_END, wait_for_app
from kpis import expected_kpis, parse_number, text
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def shown_metrics(tab, cards: int) -> dict[str, str]:
    """Metric label -> the value text the browser displays, once all `cards` are drawn."""
    expect(tab.locator('[data-testid="stMetricValue"]')).to_have_count(cards)
    shown = {}
    for metric in tab.locator('[data-testid="stMetric"]').all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return shown


def assert_no_exception(tab) -> None:
    errors = tab.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def test_overview_shows_the_kpis_the_queries_compute(page, demo_server, demo_dir):
    page.goto(demo_server)
    wait_for_app(page)

    expected = expected_kpis(demo_dir, DEMO_END)
    shown = shown_metrics(page, len(expected))
    expect(page.get_by_text(text("banner.demo"))).to_be_visible()
    assert_no_exception(page)
    for key, value in expected.items():
        label = text(f"kpi.{key}")
        assert label in shown, f"no KPI card {label!r}; cards: {sorted(shown)}"
        number, tolerance = parse_number(shown[label])
        assert number == pytest.approx(value, abs=tolerance), f"{label}: {shown[label]!r}"


def test_switching_to_english_keeps_the_figures(page, demo_server, demo_dir):
    page.goto(demo_server)
    wait_for_app(page)
    before = shown_metrics(page, len(expected_kpis(demo_dir, DEMO_END)))

    page.get_by_role("button", name=text("app.language")).click()
    expect(page.get_by_text(text("banner.demo", "en"))).to_be_visible()
    wait_for_app(page)

    assert_no_exception(page)
    assert "lang=en" in page.url
    after = shown_metrics(page, len(before))
    assert after[text("kpi.satisfaction_rate", "en")] == before[text("kpi.satisfaction_rate")]
    assert after[text("kpi.activities", "en")] == before[text("kpi.activities")]
