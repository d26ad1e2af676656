"""测评指数 Index results: its queries on a tiny snapshot (given rows -> expected rows), the
driver rule, and the page under AppTest with default filters, a district in the URL and lang=en."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pyarrow as pa
import pytest
from conftest import DEMO_END, wait_for_app
from streamlit.testing.v1 import AppTest

from civindex import reference
from civindex.cli import default_params
from civindex.db import Database
from civindex.i18n import catalogue
from civindex.ranking import drivers, rank_change_label
from civindex.store import Store

REPO = Path(__file__).resolve().parent.parent
PAGE = "pages/index_results.py"
D = date
A1 = ("2024年度测评", D(2024, 12, 10), "年度测评")
M1 = ("2025年第1季度模拟测评", D(2025, 3, 20), "模拟测评")
M2 = ("2025年第2季度模拟测评", D(2025, 6, 20), "模拟测评")
A2 = ("2025年度测评", D(2025, 12, 10), "年度测评")
# (round, district, key_tasks score of 29, relations score of 5)
SCORES = [
    (A1, "350102", 26.1, 4.5),  # 30.6 / 34 = 90.0
    (A1, "350103", 27.2, 4.8),  # 32.0 / 34
    (M1, "350102", 25.0, 5.0),
    (M1, "350103", 20.0, 4.0),
    (M2, "350102", 27.0, 5.0),  # 32 / 34, tied with 350121
    (M2, "350103", 29.0, 4.0),
    (M2, "350121", 28.0, 4.0),
    (A2, "350102", 28.2, 4.0),  # 32.2 / 34
    (A2, "350103", 26.2, 4.8),  # 31.0 / 34
    (A2, "350121", 27.0, 4.5),  # 31.5 / 34, not in A1
]
COLUMNS = ["round_name", "round_date", "round_type", "district_code", "indicator_code"]


def index(score: float) -> float:
    return round(100 * score / 34, 4)


@pytest.fixture
def database(store) -> Database:
    rows = []
    for round_, district, key_tasks, relations in SCORES:
        rows.append((*round_, district, "key_tasks", key_tasks, 29.0))
        rows.append((*round_, district, "relations", relations, 5.0))
    names = [*COLUMNS, "score", "max_score"]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
    store.publish("index_results", table, user="t")
    return Database(store)


def run(database: Database, name: str, **overrides) -> pd.DataFrame:
    return database.run(name, **(default_params() | {"end": D(2025, 12, 1)} | overrides))


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    out = []
    for record in frame[columns].itertuples(index=False):
        out.append(
            tuple(
                None
                if pd.isna(v)
                else round(float(v), 4)
                if isinstance(v, float)
                else v.item()
                if hasattr(v, "item")
                else v
                for v in record
            )
        )
    return out


def test_ranking_compares_with_the_previous_round_of_the_same_type(database):
    frame = run(database, "index_district_ranking", round_type="年度测评")
    columns = ["round_name", "district_code", "civilization_index", "rank", "previous_round"]
    changes = ["previous_rank", "rank_change", "index_change"]
    assert rows(frame, [*columns, *changes]) == [
        ("2024年度测评", "350103", index(32.0), 1, None, None, None, None),
        ("2024年度测评", "350102", index(30.6), 2, None, None, None, None),
        ("2025年度测评", "350102", index(32.2), 1, "2024年度测评", 2, 1, index(32.2) - 90.0),
        ("2025年度测评", "350121", index(31.5), 2, "2024年度测评", None, None, None),
        ("2025年度测评", "350103", index(31.0), 3, "2024年度测评", 1, -2, -2.9412),
    ]


def test_ranking_shares_a_rank_on_a_tie_and_ranks_among_all_districts(database):
    frame = run(database, "index_district_ranking", round_type="模拟测评", districts=["350121"])
    assert rows(frame, ["round_name", "rank", "districts_ranked", "previous_round"]) == [
        ("2025年第2季度模拟测评", 2, 3, "2025年第1季度模拟测评")
    ]
    every = run(database, "index_district_ranking", round_type="模拟测评")
    m2 = every[every["round_name"] == M2[0]]
    assert rows(m2, ["district_code", "rank", "rank_change"]) == [
        ("350103", 1, 1),
        ("350102", 2, -1),
        ("350121", 2, None),
    ]


def test_ranking_stops_at_the_end_of_the_period(database):
    frame = run(database, "index_district_ranking", end=D(2025, 6, 1))
    assert list(dict.fromkeys(frame["round_name"])) == [A1[0], M1[0], M2[0]]


def test_breakdown_contributions_add_up_to_the_index_change(database):
    frame = run(database, "index_indicator_breakdown", round_name=A2[0])
    assert rows(frame, ["district_code", "indicator_code", "score_rate", "index_contribution"]) == [
        ("350102", "key_tasks", round(28.2 / 29, 4), round(100 * 2.1 / 34, 4)),
        ("350102", "relations", 0.8, round(-100 * 0.5 / 34, 4)),
        ("350103", "key_tasks", round(26.2 / 29, 4), round(-100 * 1.0 / 34, 4)),
        ("350103", "relations", 0.96, 0.0),
        ("350121", "key_tasks", round(27.0 / 29, 4), None),
        ("350121", "relations", 0.9, None),
    ]
    ranking = run(database, "index_district_ranking", round_type="年度测评")
    change = ranking.set_index(["round_name", "district_code"])["index_change"]
    for district, part in frame.dropna(subset=["index_contribution"]).groupby("district_code"):
        assert part["index_contribution"].sum() == pytest.approx(change[(A2[0], district)])


def test_drivers_pick_the_indicator_that_moved_the_index_its_way(database):
    frame = run(database, "index_indicator_breakdown", round_name=A2[0])
    assert rows(drivers(frame), ["district_code", "driver_code", "driver_points"]) == [
        ("350102", "key_tasks", round(100 * 2.1 / 34, 4)),
        ("350103", "key_tasks", round(-100 / 34, 4)),
    ]
    mixed = pd.DataFrame(
        {
            "round_name": ["r"] * 3,
            "district_code": ["d"] * 3,
            "indicator_code": ["a", "b", "c"],
            "index_contribution": [1.0, 0.5, -1.2],
        }
    )
    assert rows(drivers(mixed), ["driver_code", "driver_points", "index_change"]) == [
        ("a", 1.0, 0.3)
    ]


def test_a_change_of_zero_is_no_fall_whatever_the_float_noise():
    # 0.6 - 0.2 + 0.1 - 0.5: exactly summed, these floats make -2.8e-17
    flat = pd.DataFrame(
        {
            "round_name": ["r"] * 4,
            "district_code": ["d"] * 4,
            "indicator_code": ["a", "b", "c", "d"],
            "index_contribution": [0.6, -0.2, 0.1, -0.5],
        }
    )
    assert math.fsum(flat["index_contribution"]) < 0
    assert rows(drivers(flat), ["driver_code", "driver_points", "index_change"]) == [
        ("a", 0.6, 0.0)
    ]
    assert drivers(flat.iloc[:0]).empty


@pytest.mark.parametrize(
    ("change", "label"), [(2, "↑2"), (-1, "↓1"), (0, "="), (None, "—"), (float("nan"), "—")]
)
def test_rank_change_label(change, label):
    assert rank_change_label(change) == label


# --- the page ------------------------------------------------------------------------------------


def open_page(**query) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def latest_round(data_dir: Path, **filters) -> pd.DataFrame:
    database = Database(Store(data_dir))
    params = default_params() | {"end": DEMO_END} | filters
    every = database.run("index_district_ranking", **(params | {"districts": []}))
    latest = every.iloc[-1]
    frame = database.run("index_district_ranking", **(params | {"round_type": latest.round_type}))
    return frame[frame["round_name"] == latest.round_name].sort_values(["rank", "district_code"])


def test_page_ranks_the_latest_round_as_the_query_does(demo_env):
    at = open_page()
    expected = latest_round(demo_env)
    shown = at.dataframe[0].value
    assert list(shown["district_code"]) == list(expected["district_code"])
    assert list(shown["civilization_index"]) == pytest.approx(list(expected["civilization_index"]))
    assert list(shown["rank_move"]) == [rank_change_label(c) for c in expected["rank_change"]]
    assert at.selectbox(key="index_round").value == expected.iloc[0]["round_name"]
    top = expected.iloc[0]
    sentence = at.markdown[0].value
    assert f"{top['civilization_index']:.2f}" in sentence
    assert f"{top['index_change']:+.2f}" in sentence


def test_page_with_gulou_in_the_link_explains_its_change(demo_env):
    at = open_page(district="350102")
    expected = latest_round(demo_env, districts=["350102"])
    assert len(expected) == 1
    gulou = expected.iloc[0]
    shown = at.dataframe[0].value
    assert list(shown["district_code"]) == ["350102"]
    assert int(shown.iloc[0]["rank"]) == int(gulou["rank"])
    breakdown = Database(Store(demo_env)).run(
        "index_indicator_breakdown",
        **(default_params() | {"end": DEMO_END, "round_name": gulou["round_name"]}),
    )
    driver = drivers(breakdown).set_index("district_code").loc["350102"]
    indicator = reference.names("indicators", "zh")[driver["driver_code"]]
    sentence = at.markdown[0].value
    assert sentence.startswith("**鼓楼**")
    assert f"{gulou['index_change']:+.2f}" in sentence
    assert f"**{indicator}**({driver['driver_points']:+.2f} 分)" in sentence


def test_page_in_english(demo_env):
    at = open_page(lang="en", district="350102")
    assert at.title[0].value == catalogue()["index.heading"]["en"]
    assert list(at.dataframe[0].value["district_label"]) == ["Gulou District"]
    assert at.markdown[0].value.startswith("**Gulou District**")
    assert at.selectbox(key="index_round_type").value in {
        "annual assessment",
        "mock assessment",
        "third-party inspection",
    }
    # one option per round of the latest round's type, newest first, named by type and date
    params = default_params() | {"end": DEMO_END, "districts": ["350102"], "round_type": ""}
    every = Database(Store(demo_env)).run("index_district_ranking", **params)
    kind = every.iloc[-1]["round_type"]
    rounds = every[every["round_type"] == kind].drop_duplicates("round_name")
    rounds = rounds.sort_values("round_date", ascending=False)
    assert len(rounds) > 1
    name = catalogue()[f"chart.round_type.{kind}"]["en"].capitalize()
    expected = [f"{name} {day:%Y-%m-%d}" for day in rounds["round_date"]]
    assert at.selectbox(key="index_round").options == expected


@pytest.mark.browser
def test_a_row_of_the_ranking_opens_the_district_profile(page, demo_server, demo_dir):
    from playwright.sync_api import expect

    page.goto(f"{demo_server}/index_results?from=2026-01&district=350102")
    wait_for_app(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    table.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    box = table.bounding_box()
    # The row-selection checkbox sits at the left edge of the first data row.
    page.mouse.click(box["x"] + 15, box["y"] + 53)

    page.wait_for_url("**/district_profile?**", timeout=30_000)
    wait_for_app(page)
    kept = parse_qs(page.url.split("?", 1)[1])
    assert kept["focus_district"] == ["350102"] and kept["from"] == ["2026-01"]
    expect(page.get_by_role("heading", level=1)).to_contain_text("鼓楼")
    gulou = latest_round(demo_dir, districts=["350102"]).iloc[0]
    expect(page.get_by_text(f"{gulou['index_change']:+.2f}").first).to_be_visible()
