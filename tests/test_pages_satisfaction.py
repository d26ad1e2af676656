"""窗口满意度 Satisfaction: its queries on a tiny snapshot (pooled rates, n, Wilson bounds, the
四优 dimensions, rating distribution, channels), and the page under AppTest with default
filters, filters in the URL and lang=en."""

from __future__ import annotations

import math
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

PAGE = "pages/satisfaction.py"
D = date
START, END = D(2025, 5, 1), D(2025, 6, 1)
COLUMNS = [
    "response_id",
    "surveyed_on",
    "unit_code",
    "district_code",
    "window_name",
    "channel",
    "rating_overall",
    "rating_attitude",
    "rating_timeliness",
    "rating_convenience",
    "rating_quality",
    "response_count",
]
SATISFACTION = [
    ("S1", D(2025, 5, 3), "gat", "350102", "A", "评价器", 5, 5, 4, 3, 2, 20),
    ("S2", D(2025, 6, 1), "gat", "350102", "A", "问卷", 2, None, None, None, None, 5),
    # gat pooled: 30 of 35 = 85.7%; its windows A (20/25) and B (10/10) would average 90%
    ("S3", D(2025, 6, 10), "gat", "350102", "B", "评价器", 3, 2, None, None, None, 10),
    # mzt: one response counted once (no count), one with no channel
    ("S4", D(2025, 6, 15), "mzt", "350103", "C", "暗访", 4, None, None, None, None, None),
    ("S5", D(2025, 6, 16), "mzt", "350103", "C", None, 1, None, None, None, None, 1),
    # outside the period on either side
    ("S6", D(2025, 4, 30), "gat", "350102", "A", "评价器", 1, 1, 1, 1, 1, 100),
    ("S7", D(2025, 7, 1), "gat", "350102", "A", "评价器", 1, 1, 1, 1, 1, 100),
]


def wilson(k: int, n: int) -> tuple[float, float]:
    z, p = 1.96, k / n
    centre, spread = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round((centre - spread) / (1 + z * z / n), 4), round(
        (centre + spread) / (1 + z * z / n), 4
    )


@pytest.fixture
def database(store) -> Database:
    store.publish("satisfaction", table(COLUMNS, SATISFACTION), user="t")
    return Database(store)


def run(database: Database, name: str, **overrides) -> pd.DataFrame:
    params = default_params() | {"start": START, "end": END} | overrides
    return database.run(name, **params)


def test_by_unit_pools_responses_and_flags_small_samples_and_the_target(database):
    frame = run(database, "satisfaction_by_unit")
    columns = ["unit_code", "responses", "satisfied", "satisfaction_rate", "good_rate"]
    flags = ["is_small_sample", "is_below_target"]
    assert rows(frame, [*columns, *flags]) == [
        ("mzt", 2, 1, 0.5, 0.5, True, True),
        ("gat", 35, 30, round(30 / 35, 4), round(20 / 35, 4), False, True),
    ]
    assert rows(frame, ["rate_low", "rate_high"]) == [wilson(1, 2), wilson(30, 35)]
    lenient = run(database, "satisfaction_by_unit", satisfaction_target=0.5)
    assert list(lenient["is_below_target"]) == [False, False]
    one_month = run(database, "satisfaction_by_unit", start=END, districts=["350102"])
    assert rows(one_month, ["unit_code", "responses", "satisfied"]) == [("gat", 15, 10)]


def test_dimensions_pool_each_rating_over_the_responses_that_gave_it(database):
    frame = run(database, "satisfaction_dimensions")
    columns = ["dimension", "responses", "satisfied", "good_rate", "mean_rating"]
    assert rows(frame, [*columns, "satisfaction_rate"]) == [
        ("overall", 37, 31, round(21 / 37, 4), round(145 / 37, 4), round(31 / 37, 4)),
        ("attitude", 30, 20, round(20 / 30, 4), 4.0, round(20 / 30, 4)),
        ("timeliness", 20, 20, 1.0, 4.0, 1.0),
        ("convenience", 20, 20, 0.0, 3.0, 1.0),
        ("quality", 20, 0, 0.0, 2.0, 0.0),
    ]
    assert rows(frame.head(1), ["rate_low", "rate_high"]) == [wilson(31, 37)]


def test_distribution_lists_every_level_even_when_empty(database):
    frame = run(database, "satisfaction_distribution", units=["mzt"])
    assert rows(frame, ["rating", "responses", "share", "is_satisfied"]) == [
        (5, 0, 0.0, True),
        (4, 1, 0.5, True),
        (3, 0, 0.0, True),
        (2, 0, 0.0, False),
        (1, 1, 0.5, False),
    ]
    every = run(database, "satisfaction_distribution")
    assert list(every["responses"]) == [20, 1, 10, 5, 1]


def test_by_channel_keeps_responses_without_a_channel(database):
    frame = run(database, "satisfaction_by_channel")
    assert rows(frame, ["channel", "responses", "satisfied", "satisfaction_rate"]) == [
        ("评价器", 30, 30, 1.0),
        ("问卷", 5, 0, 0.0),
        ("", 1, 0, 0.0),
        ("暗访", 1, 1, 1.0),
    ]


def expected(demo_env, name: str, **params) -> pd.DataFrame:
    defaults = default_params() | {"start": shift_month(DEMO_END, -11), "end": DEMO_END}
    return Database(Store(demo_env)).run(name, **(defaults | params))


def test_page_lists_the_units_below_target_last_month_as_the_query_does(demo_env):
    at = open_page(PAGE)
    charts = figures(at)
    last_month = expected(demo_env, "satisfaction_by_unit", start=DEMO_END)
    below = last_month[last_month["is_below_target"]]
    assert not below.empty, "the demo data should put some unit below 95% in its last month"

    chart = charts["satisfaction_below_last_month"]
    assert title(chart) == catalogue()["satisfaction.below_last_month"]["zh"].format(
        month=f"{DEMO_END:%Y-%m}", target="95%"
    )
    assert chart["layout"]["title"]["subtitle"]["text"].startswith(
        f"{DEMO_END:%Y-%m} 至 {DEMO_END:%Y-%m}"
    )
    bars = traces(chart)["满意率"]
    names = reference.names("units", "zh", demo_env)
    assert list(bars["y"]) == [names[code] for code in below["unit_code"]]
    assert bars["x"] == pytest.approx(list(below["satisfaction_rate"]))
    assert [row[1] for row in bars["customdata"]] == list(below["responses"])
    assert [row[0] for row in bars["customdata"]] == list(below["unit_code"])
    assert "目标 95%" in traces(chart)
    assert "模拟数据" in footnote(chart)


def test_page_trend_and_dimensions_match_the_queries(demo_env):
    at = open_page(PAGE)
    charts = figures(at)
    monthly = expected(demo_env, "satisfaction_monthly")
    line = traces(charts["satisfaction_trend"])["满意率"]
    assert line["y"] == pytest.approx(list(monthly["satisfaction_rate"]))
    ticks = charts["satisfaction_trend"]["layout"]["xaxis"]["ticktext"]
    assert ticks[-1] == f"{DEMO_END:%Y-%m}<br>n={int(monthly['responses'].iloc[-1]):,}"

    dimensions = expected(demo_env, "satisfaction_dimensions")
    bars = traces(charts["satisfaction_dimensions"])["满意率"]
    assert list(bars["y"]) == ["总体评价", "服务态度", "办事时效", "便利程度", "服务质量"]
    assert bars["x"] == pytest.approx(list(dimensions["satisfaction_rate"]))
    shown = {metric for metric in charts} - {"satisfaction_below_last_month"}
    assert shown >= {
        "satisfaction_trend",
        "satisfaction_dimensions",
        "satisfaction_by_unit",
        "satisfaction_by_window",
        "satisfaction_distribution",
        "satisfaction_by_channel",
    }


def test_filters_in_the_link_reach_the_charts(demo_env):
    at = open_page(PAGE, district="350102", system="政府部门", category="community")
    charts = figures(at)
    subtitle = charts["satisfaction_by_unit"]["layout"]["title"]["subtitle"]["text"]
    assert "鼓楼" in subtitle and "政府部门" in subtitle
    assert "社区" not in subtitle  # satisfaction has no category; the chart does not claim one
    frame = expected(
        demo_env, "satisfaction_by_unit", districts=["350102"], systems=["政府部门"]
    ).head(20)
    bars = traces(charts["satisfaction_by_unit"])["满意率"]
    assert [row[0] for row in bars["customdata"]] == list(frame["unit_code"])
    assert bars["x"] == pytest.approx(list(frame["satisfaction_rate"]))


def test_page_in_english(demo_env):
    at = open_page(PAGE, lang="en")
    assert at.title[0].value == catalogue()["satisfaction.heading"]["en"]
    charts = figures(at)
    channels = traces(charts["satisfaction_by_channel"])["Satisfaction rate"]
    assert set(channels["y"]) <= {
        "Rating device",
        "Questionnaire",
        "Mystery visit",
        "Online",
        "12345 hotline",
        "Not stated",
    }
    distribution = traces(charts["satisfaction_distribution"])["Share"]
    assert list(distribution["x"]) == [
        "5 Very satisfied",
        "4 Satisfied",
        "3 Fairly satisfied",
        "2 Dissatisfied",
        "1 Very dissatisfied",
    ]
    units = set(reference.names("units", "en", demo_env).values())
    by_unit = traces(charts["satisfaction_by_unit"])["Satisfaction rate"]
    assert {name.replace("<br>", " ") for name in by_unit["y"]} <= units
    assert "Target 95%" in traces(charts["satisfaction_trend"])
    assert "Source:" in footnote(charts["satisfaction_trend"])
