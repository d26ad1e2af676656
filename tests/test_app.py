"""AppTest smoke tests of the shell and every page, over the demo data and an empty data dir."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import DEMO_END
from kpis import expected_kpis, parse_number, text
from streamlit.testing.v1 import AppTest

from civindex.kpi import shift_month

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "pages").glob("*.py"))


def app(**query) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def assert_ran_cleanly(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_overview_shows_the_demo_banner_and_the_kpis_of_the_last_month(demo_env):
    at = app()

    assert_ran_cleanly(at)
    assert text("banner.demo") in [w.value for w in at.warning]
    assert at.query_params["to"] == f"{DEMO_END:%Y-%m}"
    shown = {metric.label: metric.value for metric in at.metric}
    for key, value in expected_kpis(demo_env, DEMO_END).items():
        label = text(f"kpi.{key}")
        assert label in shown, f"no KPI card {label!r}; cards: {sorted(shown)}"
        number, tolerance = parse_number(shown[label])
        assert number == pytest.approx(value, abs=tolerance), (
            f"{label}: {shown[label]!r} vs {value}"
        )


def test_the_activities_card_shows_the_change_on_a_year_earlier(demo_env):
    at = app()
    now = expected_kpis(demo_env, DEMO_END)["activities"]
    year_ago = expected_kpis(demo_env, shift_month(DEMO_END, -12))["activities"]
    (card,) = [m for m in at.metric if m.label == text("kpi.activities")]
    change, tolerance = parse_number(card.delta)
    assert change == pytest.approx((now - year_ago) / year_ago, abs=tolerance)


def test_english_labels_with_lang_en(demo_env):
    at = app(lang="en")

    assert_ran_cleanly(at)
    assert text("overview.heading", "en") in [title.value for title in at.title]
    assert text("banner.demo", "en") in [w.value for w in at.warning]
    labels = {metric.label for metric in at.metric}
    assert text("kpi.satisfaction_rate", "en") in labels
    assert text("kpi.claim_rate", "en") in labels
    assert not labels & {text("kpi.satisfaction_rate"), text("kpi.claim_rate")}


def test_an_empty_data_dir_shows_the_empty_state(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(tmp_path))
    at = app()

    assert_ran_cleanly(at)
    assert any(text("empty.title") in info.value for info in at.info)
    assert not at.metric
    assert text("banner.demo") not in [w.value for w in at.warning]


def test_a_bad_month_in_the_link_is_ignored_with_a_notice(demo_env):
    at = app(**{"from": "2024-13"})

    assert_ran_cleanly(at)
    notice = text("filter.ignored", name="from", value="2024-13")
    assert notice in [w.value for w in at.warning]
    assert at.metric, "the page still renders its KPI cards"


def test_every_page_file_is_listed_in_the_navigation():
    entry = (REPO / "dashboard.py").read_text(encoding="utf-8")
    unlisted = [page for page in PAGES if f'"{page}"' not in entry]
    assert not unlisted, f"pages not listed in dashboard.py: {unlisted}"


# AppTest runs dashboard.py once; after switch_page it runs only the page script, which reads
# the context (filters, snapshot) that first run stored in session state.
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_data(demo_env, page):
    at = app()
    assert_ran_cleanly(at)

    at.switch_page(page).run()

    assert_ran_cleanly(at)
    assert at.title, f"{page} drew no title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_data_dir(tmp_path, monkeypatch, page):
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(tmp_path))
    at = app()

    at.switch_page(page).run()

    assert_ran_cleanly(at)


def test_moving_the_period_slider_updates_the_link(demo_env):
    # Regression: the slider had no range default, so Streamlit read the two months sent back
    # as one value and every rerun crashed in the filter callback.
    at = app()
    at.select_slider(key="w_period").set_range("2025-01", "2025-06").run()

    assert_ran_cleanly(at)
    assert (at.query_params["from"], at.query_params["to"]) == ("2025-01", "2025-06")
    assert at.session_state["_civindex_filters"].end == date(2025, 6, 1)


def test_choosing_a_district_updates_the_link(demo_env):
    at = app()
    at.multiselect(key="w_districts").select("350102").run()

    assert_ran_cleanly(at)
    assert at.query_params["district"] == "350102"
    assert at.session_state["_civindex_filters"].districts == ("350102",)
