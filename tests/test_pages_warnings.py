"""预警名单 Warnings page and the Overview's 预警单位 card under AppTest: what they show equals
what the warning queries return, with default filters, a district in the link and lang=en."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest
from conftest import DEMO_END, wait_for_app
from streamlit.testing.v1 import AppTest

from civindex import reference, warnings
from civindex.cli import default_params
from civindex.db import Database
from civindex.i18n import catalogue, set_language
from civindex.kpi import shift_month
from civindex.store import Store

REPO = Path(__file__).resolve().parent.parent
PAGE = "pages/warnings.py"


def open_page(page: str | None = PAGE, **query) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def expected(data_dir: Path, **filters) -> warnings.WarningList:
    database = Database(Store(data_dir))

    def run(name, **params):
        return database.run(name, **(default_params() | {"end": DEMO_END} | filters | params))

    return warnings.collect(run)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def links(at: AppTest) -> list[tuple[str, str, dict]]:
    return [
        (link.proto.page, link.value, parse_qs(link.proto.query_string))
        for link in at.get("page_link")
    ]


def test_every_warned_unit_is_listed_with_its_evidence_and_a_profile_link(demo_env):
    at = open_page()
    found = expected(demo_env)
    names = reference.names("units", "zh")
    assert found.units("satisfaction") and found.units("participation") and found.units("claims")
    assert metric(at, "预警单位") == str(len(found.units()))

    shown = links(at)
    listed = [query["focus_unit"][0] for _page, _label, query in shown]
    in_order = [
        *dict.fromkeys(found.rule("satisfaction")["unit_code"]),
        *found.participation["unit_code"],
        *found.claims["unit_code"],
    ]
    assert listed[: len(in_order)] == in_order
    for page, label, query in shown:
        assert page.endswith("unit_profile")
        assert label == names[query["focus_unit"][0]]
        assert query["from"] == ["2025-11"] and query["to"] == ["2026-10"]

    set_language("zh")
    markdown = [m.value for m in at.markdown]
    for code, months in found.rule("satisfaction").groupby("unit_code"):
        evidence = warnings.satisfaction_evidence(months)
        assert any(text.startswith(evidence) for text in markdown), code
    for row in found.participation.itertuples():
        assert warnings.participation_evidence(row) in markdown
    for row in found.claims.itertuples():
        assert warnings.claims_evidence(row) in markdown


def test_the_satisfaction_evidence_names_the_lowest_window(demo_env):
    at = open_page()
    found = expected(demo_env)
    first = found.rule("satisfaction")["unit_code"].iloc[0]
    windows = Database(Store(demo_env)).run(
        "profile_windows",
        **(default_params() | {"start": DEMO_END, "end": DEMO_END, "units": [first]}),
    )
    rated = windows[windows["responses"] >= 30].sort_values("satisfaction_rate")
    lowest = rated.iloc[0] if not rated.empty else windows.iloc[0]
    text = next(m.value for m in at.markdown if lowest["window_name"] in m.value)
    assert f"{lowest['satisfaction_rate']:.1%}(n={int(lowest['responses'])})" in text


def test_a_district_in_the_link_lists_the_units_paired_with_it(demo_env):
    at = open_page(district="350102")
    found = expected(demo_env, districts=["350102"])
    paired = set(reference.load("units").query("paired_district_code == '350102'")["unit_code"])
    assert set(found.units()) <= paired
    assert metric(at, "预警单位") == str(len(found.units()))
    listed = {query["focus_unit"][0] for _p, _l, query in links(at)}
    assert listed == set(found.units()) | set(found.watch["unit_code"])
    assert all(query["district"] == ["350102"] for _p, _l, query in links(at))


def test_the_page_in_english(demo_env):
    at = open_page(lang="en")
    found = expected(demo_env)
    names = reference.names("units", "en")
    messages = catalogue()
    assert at.title[0].value == messages["warnings.heading"]["en"]
    assert metric(at, messages["kpi.warning_units"]["en"]) == str(len(found.units()))
    labels = {label for _p, label, _q in links(at)}
    assert {names[code] for code in found.units()} <= labels
    headings = [s.value for s in at.subheader]
    assert headings[2].startswith("Department-level unit with no task claimed this year")
    assert headings[2].endswith(f"({len(found.claims)})")


def test_the_overview_card_counts_the_list_and_compares_with_last_month(demo_env):
    at = open_page(page=None)
    now = expected(demo_env)
    before = warnings.collect(
        lambda name, **params: Database(Store(demo_env)).run(
            name, **(default_params() | params | {"end": shift_month(DEMO_END, -1)})
        )
    )
    assert metric(at, "预警单位") == str(len(now.units()))
    change = (len(now.units()) - len(before.units())) / len(before.units())
    captions = [c.value for c in at.caption]
    assert any(f"环比 {change:+.1%}" in caption for caption in captions)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_empty_data_dir_shows_the_empty_state(tmp_path, monkeypatch, lang):
    monkeypatch.setenv("CIVINDEX_DATA_DIR", str(tmp_path))
    at = open_page(lang=lang)
    assert at.info and not at.get("page_link")


@pytest.mark.browser
def test_a_warned_units_link_opens_its_profile_with_the_filters_kept(page, demo_server, demo_dir):
    from playwright.sync_api import expect

    page.goto(f"{demo_server}/warnings?from=2026-01&district=350102")
    wait_for_app(page)
    found = expected(demo_dir, districts=["350102"])
    first = found.rule("satisfaction")["unit_code"].iloc[0]
    name = reference.names("units", "zh", demo_dir)[first]

    page.get_by_role("link", name=name).first.click()

    page.wait_for_url("**/unit_profile?**", timeout=30_000)
    wait_for_app(page)
    kept = parse_qs(page.url.split("?", 1)[1])
    assert kept["focus_unit"] == [first]
    assert kept["district"] == ["350102"] and kept["from"] == ["2026-01"]
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    heading = catalogue()["warnings.rule.satisfaction"]["zh"].format(months=2, target="95%")
    expect(page.get_by_text(heading)).to_be_visible()
