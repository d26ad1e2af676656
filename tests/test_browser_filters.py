"""Real Chromium against `streamlit run dashboard.py`: filters chosen in the sidebar live in the
URL, a copied link reproduces the same figures, and a click on a unit's bar opens its profile
with the filters kept."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import DEMO_END, wait_for_app
from kpis import text
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from civindex import reference
from civindex.cli import default_params
from civindex.db import Database
from civindex.store import Store

pytestmark = pytest.mark.browser
CARDS = 8


def shown_metrics(tab) -> dict[str, str]:
    expect(tab.locator('[data-testid="stMetricValue"]')).to_have_count(CARDS)
    shown = {}
    for metric in tab.locator('[data-testid="stMetric"]').all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return shown


def settled_metrics(tab) -> dict[str, str]:
    """The cards once a rerun has finished: stale cards stay on screen while it runs."""
    shown = shown_metrics(tab)
    for _ in range(30):
        wait_for_app(tab)
        tab.wait_for_timeout(700)
        again = shown_metrics(tab)
        if again == shown:
            return shown
        shown = again
    raise AssertionError("the KPI cards kept changing")


def assert_no_exception(tab) -> None:
    errors = tab.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def choose(tab, label: str, option: str, in_url: str) -> None:
    """Pick `option` in the sidebar multiselect called `label`, until the URL shows `in_url`
    (a rerun that redraws the sidebar can close the dropdown under the click)."""
    box = tab.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text=label
    )
    for _attempt in range(3):
        wait_for_app(tab)
        field = box.locator("input")
        field.click()
        field.fill(option)
        tab.get_by_role("option", name=option, exact=True).click()
        tab.keyboard.press("Escape")
        try:
            tab.wait_for_function(f"() => location.search.includes('{in_url}')", timeout=10_000)
        except PlaywrightTimeout:
            continue
        wait_for_app(tab)
        return
    raise AssertionError(f"choosing {option!r} never reached the URL")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def test_filters_set_in_the_sidebar_travel_in_a_copied_link(page, demo_server):
    page.goto(demo_server)
    wait_for_app(page)
    unfiltered = settled_metrics(page)

    choose(page, text("filter.districts"), "鼓楼", "district=350102")
    choose(page, text("filter.categories"), "志愿服务", "category=volunteer")
    assert_no_exception(page)
    filtered = settled_metrics(page)
    link = page.url
    assert query(link)["district"] == ["350102"]
    assert query(link)["category"] == ["volunteer"]
    activities = text("kpi.activities")
    assert filtered[activities] != unfiltered[activities]

    copy = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = copy.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(link)
        wait_for_app(tab)
        assert_no_exception(tab)
        assert settled_metrics(tab) == filtered
        sidebar = tab.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("鼓楼", exact=True)).to_be_visible()
        expect(sidebar.get_by_text("志愿服务", exact=True)).to_be_visible()
        assert query(tab.url)["district"] == ["350102"]
    finally:
        copy.close()


def test_a_click_on_a_units_bar_opens_its_profile_with_the_filters_kept(
    page, demo_server, demo_dir
):
    page.goto(f"{demo_server}/participation?from=2026-01&district=350102")
    wait_for_app(page)
    assert_no_exception(page)

    params = default_params() | {
        "start": date(2026, 1, 1),
        "end": DEMO_END,
        "districts": ["350102"],
    }
    ranking = Database(Store(demo_dir)).run("participation_by_unit", **params)
    first = str(ranking.iloc[0]["unit_code"])
    name = reference.names("units", "zh", demo_dir)[first]

    chart = page.locator(".js-plotly-plot").filter(has_text="单位排行")
    expect(chart).to_have_count(1, timeout=30_000)
    bar = chart.locator(".trace.bars .point path").first
    bar.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    box = bar.bounding_box()
    # Plotly's drag layer sits over the bars and turns a click there into a point selection.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.wait_for_url("**/unit_profile?**", timeout=30_000)
    wait_for_app(page)
    assert_no_exception(page)
    kept = query(page.url)
    assert kept["focus_unit"] == [first]
    assert kept["district"] == ["350102"]
    assert kept["from"] == ["2026-01"]
    assert kept["to"] == [f"{DEMO_END:%Y-%m}"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
