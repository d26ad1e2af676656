"""总览 Overview: the queries behind its trends and 红黑榜 on a tiny snapshot (given rows ->
expected rows), and the page under AppTest with default filters, filters in the URL and
lang=en, each chart checked against its query."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import DEMO_END
from figures import figures, footnote, open_page, rows, table, title, traces

from civindex import reference
from civindex.cli import default_params
from civindex.db import Database
from civindex.i18n import catalogue
from civindex.kpi import shift_month
from civindex.store import Store

PAGE = "pages/overview.py"
D = date
START, END = D(2025, 1, 1), D(2025, 6, 1)
PARTICIPATION_COLUMNS = [
    "period_month",
    "unit_code",
    "district_code",
    "category_code",
    "tasks_claimed",
    "tasks_completed",
    "activities",
    "participants",
    "volunteer_hours",
]
PARTICIPATION = [
    (D(2025, 1, 1), "fgw", "350102", "traffic", 2, 1, 10, 100, 20.0),
    (D(2025, 1, 1), "fgw", "350102", "community", 1, 1, 5, 50, 10.0),
    (D(2025, 3, 1), "jyt", "350103", "community", 0, 0, 4, 40, 8.0),
    (D(2025, 3, 1), "zzb", "350102", "volunteer", 3, 3, 6, 60, 12.0),
    (D(2024, 12, 1), "zzb", "350102", "volunteer", 9, 9, 90, 900, 1.0),  # before the period
]
SATISFACTION_COLUMNS = [
    "response_id",
    "surveyed_on",
    "unit_code",
    "district_code",
    "rating_overall",
    "response_count",
]
SATISFACTION = [
    ("S1", D(2025, 2, 1), "fgw", "350102", 5, 30),  # fgw 30/30: counts in the score
    ("S2", D(2025, 2, 1), "jyt", "350103", 4, 36),  # jyt 36/40
    ("S3", D(2025, 2, 2), "jyt", "350103", 2, 4),
    ("S4", D(2025, 2, 1), "zzb", "350102", 5, 29),  # zzb n = 29 < 30: left out of its score
]


@pytest.fixture
def database(store) -> Database:
    store.publish("participation", table(PARTICIPATION_COLUMNS, PARTICIPATION), user="t")
    store.publish("satisfaction", table(SATISFACTION_COLUMNS, SATISFACTION), user="t")
    return Database(store)


def run(database: Database, name: str, **overrides) -> pd.DataFrame:
    return database.run(name, **(default_params() | {"start": START, "end": END} | overrides))


def test_category_trend_is_one_row_per_month_and_category_in_reference_order(database):
    frame = run(database, "participation_by_category_monthly")
    assert rows(frame, ["period_month", "category_code", "activities", "participating_units"]) == [
        (D(2025, 1, 1), "community", 5, 1),
        (D(2025, 1, 1), "traffic", 10, 1),
        (D(2025, 3, 1), "community", 4, 1),
        (D(2025, 3, 1), "volunteer", 6, 1),
    ]
    gulou = run(database, "participation_by_category_monthly", districts=["350102"])
    assert list(gulou["activities"]) == [5, 10, 6]


def test_scoreboard_averages_percentile_ranks_with_satisfaction_only_on_n_30(database):
    frame = run(database, "unit_scoreboard")
    columns = ["unit_code", "completion_rate", "activities", "satisfaction_rate"]
    assert rows(frame, [*columns, "score", "score_rank", "units_ranked"]) == [
        # completion .5, activities 1, participants 1, satisfaction 1 -> (0.5+1+1+1)/4
        ("fgw", round(2 / 3, 4), 15, 1.0, 87.5, 1, 3),
        # completion 1, activities .5, participants .5; n = 29 -> three parts
        ("zzb", 1.0, 6, None, round(200 / 3, 4), 2, 3),
        # no task claimed counts as 0%; lowest on everything
        ("jyt", 0.0, 4, 0.9, 0.0, 3, 3),
    ]


def expected(demo_env, name: str, **params) -> pd.DataFrame:
    defaults = default_params() | {"start": shift_month(DEMO_END, -11), "end": DEMO_END}
    return Database(Store(demo_env)).run(name, **(defaults | params))


def by_month(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return {f"{m:%Y-%m}": v for m, v in zip(frame["period_month"], frame[column], strict=True)}


def stacked_totals(figure: dict) -> dict[str, float]:
    totals: dict[str, float] = {}
    for trace in traces(figure).values():
        for month, value in zip(trace["x"], trace["y"], strict=True):
            totals[month] = totals.get(month, 0) + value
    return totals


def test_page_charts_match_their_queries(demo_env):
    at = open_page(PAGE)
    charts = figures(at)
    assert set(charts) == {
        "overview_category_trend",
        "overview_satisfaction_trend",
        "overview_index_trend",
        "overview_red_board",
        "overview_black_board",
    }
    monthly = expected(demo_env, "participation_monthly")
    want = by_month(monthly, "activities")
    assert stacked_totals(charts["overview_category_trend"]) == pytest.approx(want)
    categories = reference.names("categories", "zh", demo_env)
    assert list(traces(charts["overview_category_trend"])) == list(categories.values())

    satisfaction = expected(demo_env, "satisfaction_monthly")
    line = traces(charts["overview_satisfaction_trend"])["满意率"]
    assert line["y"] == pytest.approx(list(satisfaction["satisfaction_rate"]))
    assert "目标 95%" in traces(charts["overview_satisfaction_trend"])

    board = expected(demo_env, "unit_scoreboard")
    units = reference.names("units", "zh", demo_env)
    red = traces(charts["overview_red_board"])["综合得分"]
    black = traces(charts["overview_black_board"])["综合得分"]
    assert list(red["y"]) == [units[code] for code in board["unit_code"].head(10)]
    assert red["x"] == pytest.approx(list(board["score"].head(10)))
    assert list(black["y"]) == [units[code] for code in board["unit_code"].tail(10)[::-1]]
    captions = " ".join(caption.value for caption in at.caption)
    assert "综合得分(0–100)" in captions and f"共 {len(board)} 家单位" in captions
    for chart in charts.values():
        assert "数据来源" in footnote(chart) and "模拟数据" in footnote(chart)
        assert chart["layout"]["title"]["subtitle"]["text"].startswith(
            f"{shift_month(DEMO_END, -11):%Y-%m} 至 {DEMO_END:%Y-%m}"
        )


def test_index_trend_draws_the_rounds_of_the_latest_type(demo_env):
    at = open_page(PAGE)
    chart = figures(at)["overview_index_trend"]
    rounds = expected(demo_env, "index_by_round", start=D(2012, 1, 1))
    latest_type = rounds.iloc[-1]["round_type"]
    assert latest_type in title(chart)
    ranking = expected(demo_env, "index_district_ranking", round_type=latest_type)
    gulou = ranking[ranking["district_code"] == "350102"]
    gulou = gulou[gulou["round_date"] >= pd.Timestamp(shift_month(DEMO_END, -23))]
    line = traces(chart)["鼓楼"]
    assert line["y"] == pytest.approx(list(gulou["civilization_index"]))
    assert {row[0] for row in line["customdata"]} == {"350102"}  # a click opens 鼓楼's profile


def test_filters_in_the_link_reach_the_charts(demo_env):
    at = open_page(PAGE, district="350102", category="volunteer", **{"from": "2026-04"})
    charts = figures(at)
    subtitle = charts["overview_category_trend"]["layout"]["title"]["subtitle"]["text"]
    assert subtitle == f"2026-04 至 {DEMO_END:%Y-%m} · 区县:鼓楼 · 类别:志愿服务"
    satisfaction_subtitle = charts["overview_satisfaction_trend"]["layout"]["title"]["subtitle"]
    assert "志愿服务" not in satisfaction_subtitle["text"]

    params = {"start": D(2026, 4, 1), "districts": ["350102"], "categories": ["volunteer"]}
    monthly = expected(demo_env, "participation_monthly", **params)
    want = by_month(monthly, "activities")
    assert stacked_totals(charts["overview_category_trend"]) == pytest.approx(want)
    assert list(traces(charts["overview_category_trend"])) == ["志愿服务"]
    board = expected(demo_env, "unit_scoreboard", **params)
    red = traces(charts["overview_red_board"])["综合得分"]
    assert [row[0] for row in red["customdata"]] == list(board["unit_code"].head(10))


def test_page_in_english(demo_env):
    at = open_page(PAGE, lang="en")
    charts = figures(at)
    en = {key: texts["en"] for key, texts in catalogue().items()}
    assert title(charts["overview_category_trend"]) == en["overview.category_trend"]
    assert list(traces(charts["overview_category_trend"])) == list(
        reference.names("categories", "en", demo_env).values()
    )
    assert "Target 95%" in traces(charts["overview_satisfaction_trend"])
    assert "Gulou District" in traces(charts["overview_index_trend"])
    assert title(charts["overview_index_trend"]).startswith("Civilization index by district (")
    units = set(reference.names("units", "en", demo_env).values())
    red = traces(charts["overview_red_board"])["Composite score"]
    assert {name.replace("<br>", " ") for name in red["y"]} <= units
    assert footnote(charts["overview_red_board"]).startswith("Source:")
    assert "to" in charts["overview_red_board"]["layout"]["title"]["subtitle"]["text"]
