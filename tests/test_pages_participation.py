"""单位参与 Participation: its queries on a tiny snapshot (given rows -> expected rows), and the
page under AppTest with default filters, filters in the URL, another measure and lang=en."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import DEMO_END
from figures import figures, open_page, rows, table, title, traces

from civindex import reference
from civindex.cli import default_params
from civindex.db import Database
from civindex.i18n import catalogue
from civindex.kpi import shift_month
from civindex.store import Store

PAGE = "pages/participation.py"
D = date
START, END = D(2025, 1, 1), D(2025, 6, 1)
COLUMNS = [
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
# Current window 2025-01..2025-06; a year earlier 2024-01..2024-06.
PARTICIPATION = [
    (D(2025, 1, 1), "fgw", "350102", "community", 2, 1, 10, 100, 20.0),
    (D(2025, 3, 1), "fgw", "350103", "traffic", 1, 1, 5, 50, 10.0),
    (D(2025, 6, 1), "jyt", "350102", "community", 0, 0, 4, 40, 8.0),
    (D(2025, 2, 1), "zzb", "350102", "volunteer", 3, 3, 6, 60, 12.0),
    (D(2024, 1, 1), "fgw", "350102", "community", 1, 1, 7, 70, 14.0),
    (D(2024, 6, 1), "jyt", "350102", "traffic", 0, 0, 10, 100, 20.0),
    # outside both windows
    (D(2023, 12, 1), "zzb", "350102", "volunteer", 0, 0, 99, 990, 1.0),
    (D(2025, 7, 1), "fgw", "350102", "community", 9, 9, 99, 990, 1.0),
]
UNITS = ["fgw", "jyt", "zzb", "lsxh"]  # lsxh (人大政协政法) took no part


@pytest.fixture
def database(store) -> Database:
    store.publish("participation", table(COLUMNS, PARTICIPATION), user="t")
    return Database(store)


def run(database: Database, name: str, **overrides):
    params = default_params() | {"start": START, "end": END, "units": UNITS} | overrides
    return database.run(name, **params)


def test_by_category_compares_with_the_same_months_a_year_earlier(database):
    frame = run(database, "participation_by_category")
    columns = ["category_code", "activities", "activities_prev", "activities_yoy"]
    assert rows(frame, [*columns, "tasks_claimed", "completion_rate", "participating_units"]) == [
        ("community", 14, 7, 1.0, 2, 0.5, 2),
        ("traffic", 5, 10, -0.5, 1, 1.0, 1),
        ("volunteer", 6, 0, None, 3, 1.0, 1),
    ]
    only_traffic = run(database, "participation_by_category", categories=["traffic"])
    assert rows(only_traffic, columns) == [("traffic", 5, 10, -0.5)]


def test_by_system_counts_units_that_took_no_part(database):
    frame = run(database, "participation_by_system")
    columns = ["unit_system", "units", "participating_units", "claiming_units", "activities"]
    assert rows(frame, [*columns, "claim_rate", "completion_rate"]) == [
        ("政府部门", 2, 2, 1, 19, 0.5, round(2 / 3, 4)),
        ("党群机关", 1, 1, 1, 6, 1.0, 1.0),
        ("人大政协政法", 1, 0, 0, 0, 0.0, None),
    ]


def test_by_unit_ranks_by_activities(database):
    frame = run(database, "participation_by_unit")
    columns = ["unit_code", "unit_system", "categories", "activities", "completion_rate"]
    assert rows(frame, [*columns, "activities_rank"]) == [
        ("fgw", "政府部门", 2, 15, round(2 / 3, 4), 1),
        ("zzb", "党群机关", 1, 6, 1.0, 2),
        ("jyt", "政府部门", 1, 4, None, 3),
    ]
    in_cangshan = run(database, "participation_by_unit", districts=["350103"])
    assert rows(in_cangshan, ["unit_code", "activities"]) == [("fgw", 5)]


def test_by_district_where_the_work_was_done(database):
    frame = run(database, "participation_by_district")
    columns = ["district_code", "participating_units", "activities", "activities_prev"]
    assert rows(frame, [*columns, "activities_yoy"]) == [
        ("350102", 3, 20, 17, round(3 / 17, 4)),
        ("350103", 1, 5, 0, None),
    ]


def test_unit_month_cells(database):
    frame = run(database, "participation_unit_month")
    assert rows(frame, ["unit_code", "period_month", "activities", "participants"]) == [
        ("fgw", D(2025, 1, 1), 10, 100),
        ("fgw", D(2025, 3, 1), 5, 50),
        ("jyt", D(2025, 6, 1), 4, 40),
        ("zzb", D(2025, 2, 1), 6, 60),
    ]


def expected(demo_env, name: str, **params):
    defaults = default_params() | {"start": shift_month(DEMO_END, -11), "end": DEMO_END}
    return Database(Store(demo_env)).run(name, **(defaults | params))


def zh(key: str, **values) -> str:
    return catalogue()[key]["zh"].format(**values)


def test_page_shows_the_yoy_of_every_category_as_the_query_does(demo_env):
    at = open_page(PAGE)
    charts = figures(at)
    (bars,) = traces(charts["participation_category_yoy"]).values()
    shown = dict(zip(bars["y"], bars["x"], strict=True))

    frame = expected(demo_env, "participation_by_category")
    names = reference.names("categories", "zh", demo_env)
    yoy = zip(frame["category_code"], frame["activities_yoy"], strict=True)
    want = {names[code]: value for code, value in yoy}
    assert shown == pytest.approx(want)
    assert bars["y"][0] == max(want, key=want.get)  # the fastest-growing area comes first
    assert title(charts["participation_category_yoy"]) == zh(
        "participation.category_yoy", measure="活动次数"
    )
    assert set(charts) >= {
        "participation_by_category",
        "participation_by_system",
        "participation_rates_by_system",
        "participation_unit_ranking",
        "participation_by_district",
        "participation_heatmap",
    }


def test_filters_in_the_link_reach_every_chart(demo_env):
    at = open_page(PAGE, district="350102", category="community", **{"from": "2026-01"})
    charts = figures(at)
    ranking = charts["participation_unit_ranking"]
    assert "鼓楼" in ranking["layout"]["title"]["subtitle"]["text"]
    assert "社区" in ranking["layout"]["title"]["subtitle"]["text"]

    frame = expected(
        demo_env,
        "participation_by_unit",
        start=D(2026, 1, 1),
        districts=["350102"],
        categories=["community"],
    ).head(20)
    names = reference.names("units", "zh", demo_env)
    (bars,) = traces(ranking).values()
    assert list(bars["x"]) == list(frame["activities"])
    assert list(bars["y"]) == [names[code] for code in frame["unit_code"]]
    assert [row[0] for row in bars["customdata"]] == list(frame["unit_code"])


def test_another_measure_redraws_the_charts(demo_env):
    at = open_page(PAGE)
    at.segmented_control(key="participation_measure").set_value("participants").run()
    charts = figures(at)
    (bars,) = traces(charts["participation_by_system"]).values()
    frame = expected(demo_env, "participation_by_system")
    assert dict(zip(bars["y"], bars["x"], strict=True)) == dict(
        zip(frame["unit_system"], frame["participants"], strict=True)
    )
    assert "参与人次" in title(charts["participation_by_system"])


def test_page_in_english(demo_env):
    at = open_page(PAGE, lang="en")
    assert at.title[0].value == catalogue()["participation.heading"]["en"]
    charts = figures(at)
    assert title(charts["participation_category_yoy"]).startswith("Activities by co-building area")
    (bars,) = traces(charts["participation_category_yoy"]).values()
    english = set(reference.names("categories", "en", demo_env).values())
    assert set(bars["y"]) <= english and len(bars["y"]) == 6
    legend = set(traces(charts["participation_by_category"]))
    assert legend == {"This period", "A year earlier"}
    (ranking,) = traces(charts["participation_unit_ranking"]).values()
    units = set(reference.names("units", "en", demo_env).values())
    assert {name.replace("<br>", " ") for name in ranking["y"]} <= units  # long names wrap
    assert "all districts" in charts["participation_heatmap"]["layout"]["title"]["subtitle"]["text"]
