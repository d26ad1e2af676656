"""单位画像 and 区县画像: the profile queries on a tiny snapshot (given rows -> expected rows), the
link a click opens, and both pages under AppTest with a focus in the link, filters and lang=en."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest
from conftest import DEMO_END
from streamlit.testing.v1 import AppTest

from civindex import reference, warnings
from civindex.cli import default_params
from civindex.db import Database
from civindex.filters import Filters
from civindex.i18n import catalogue, set_language
from civindex.store import Store
from civindex.ui.views import profile_link

REPO = Path(__file__).resolve().parent.parent
D = date
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
# The period is 2025-01..2025-06; the six months before are 2024-07..2024-12.
PARTICIPATION = [
    (D(2024, 8, 1), "fgw", "350102", "community", 0, 0, 10, 100, 20.0),
    (D(2025, 2, 1), "fgw", "350102", "community", 2, 1, 5, 50, 100.0),
    (D(2025, 3, 1), "fgw", "350103", "traffic", 1, 1, 3, 30, 60.0),
    (D(2024, 12, 1), "jyt", "350121", "volunteer", 0, 0, 2, 20, 4.0),
    (D(2025, 1, 1), "jyt", "350102", "volunteer", 2, 2, 8, 80, 160.0),
    (D(2024, 7, 1), "gat", "350102", "traffic", 1, 1, 5, 50, 10.0),
    (D(2025, 6, 1), "gat", "350102", "traffic", 0, 0, 5, 40, 80.0),
    (D(2025, 7, 1), "gat", "350102", "traffic", 9, 9, 90, 900, 1.0),  # after the period
]
SATISFACTION_COLUMNS = [
    "response_id",
    "surveyed_on",
    "unit_code",
    "district_code",
    "window_name",
    "rating_overall",
    "response_count",
]
SATISFACTION = [
    ("S1", D(2025, 2, 3), "gat", "350102", "办证大厅", 5, 30),
    ("S2", D(2025, 2, 4), "gat", "350102", "办证大厅", 3, 10),
    ("S3", D(2025, 3, 4), "gat", "350102", "办证大厅", 2, 2),
    ("S4", D(2025, 4, 1), "gat", "350102", "出入境窗口", 3, 10),
    ("S5", D(2025, 4, 1), "mzt", "350103", "婚姻登记处", 5, 12),
    ("S6", D(2025, 7, 1), "gat", "350102", "办证大厅", 1, 50),  # after the period
]
PERIOD = {"start": D(2025, 1, 1), "end": D(2025, 6, 1)}


@pytest.fixture
def database(store) -> Database:
    for name, columns, rows in (
        ("participation", PARTICIPATION_COLUMNS, PARTICIPATION),
        ("satisfaction", SATISFACTION_COLUMNS, SATISFACTION),
    ):
        table = pa.table({c: [row[i] for row in rows] for i, c in enumerate(columns)})
        store.publish(name, table, user="t")
    return Database(store)


def run(database: Database, name: str, **overrides) -> pd.DataFrame:
    return database.run(name, **(default_params() | PERIOD | overrides))


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    def plain(value):
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return None
        if isinstance(value, float):
            return round(value, 4)
        return value.item() if hasattr(value, "item") else value

    return [tuple(plain(v) for v in record) for record in frame[columns].itertuples(index=False)]


def test_district_units_lists_paired_units_and_units_working_there(database):
    frame = run(database, "district_units", districts=["350102"])
    columns = ["unit_code", "is_paired", "activities", "tasks_claimed", "completion_rate"]
    assert rows(frame.head(3), columns) == [
        ("jyt", False, 8, 2, 1.0),
        ("fgw", True, 5, 2, 0.5),
        ("gat", True, 5, 0, None),
    ]
    paired = reference.load("units").query("paired_district_code == '350102'")
    assert len(frame) == len(paired) + 1
    assert set(frame["unit_code"]) == set(paired["unit_code"]) | {"jyt"}
    assert frame["activities"].iloc[3:].eq(0).all()


def test_district_units_honours_the_category_filter(database):
    frame = run(database, "district_units", districts=["350102"], categories=["traffic"])
    assert rows(frame.head(1), ["unit_code", "activities"]) == [("gat", 5)]
    assert "jyt" not in set(frame["unit_code"])  # its volunteer work there is filtered out
    assert frame.set_index("unit_code").loc["fgw", "activities"] == 0


def test_profile_windows_pool_each_window_with_n_and_interval(database):
    frame = run(database, "profile_windows", districts=["350102"])
    columns = ["unit_code", "window_name", "responses", "satisfied", "satisfaction_rate"]
    assert rows(frame, [*columns, "good_rate", "is_small_sample"]) == [
        ("gat", "办证大厅", 42, 40, round(40 / 42, 4), round(30 / 42, 4), False),
        ("gat", "出入境窗口", 10, 10, 1.0, 0.0, True),
    ]
    assert frame["rate_low"].iloc[0] < 40 / 42 < frame["rate_high"].iloc[0]


def test_unit_ranking_ranks_activities_against_the_previous_period(database):
    frame = run(database, "unit_ranking").set_index("unit_code")
    columns = ["activities", "previous_activities", "activity_rank", "previous_activity_rank"]
    top = frame.loc[["jyt", "fgw", "gat"], [*columns, "activity_rank_change", "participants"]]
    assert rows(top.reset_index(), ["unit_code", *top.columns]) == [
        ("jyt", 8, 2, 1, 3, 2, 80),
        ("fgw", 8, 10, 1, 1, 0, 80),
        ("gat", 5, 5, 3, 2, -1, 40),
    ]
    assert frame.loc["zzb", "activity_rank"] == 4
    assert frame["units_ranked"].iloc[0] == len(reference.load("units"))


def test_unit_ranking_rates_only_units_with_30_responses(database):
    frame = run(database, "unit_ranking").set_index("unit_code")
    assert rows(
        frame.loc[["gat", "mzt"]].reset_index(),
        ["unit_code", "responses", "satisfaction_rate", "satisfaction_rank", "units_rated"],
    ) == [("gat", 52, round(50 / 52, 4), 1, 1), ("mzt", 12, 1.0, None, 1)]


def test_unit_ranking_within_a_district_and_a_system(database):
    frame = run(database, "unit_ranking", districts=["350102"], systems=["政府部门"])
    systems = reference.load("units").set_index("unit_code")["unit_system"]
    assert set(systems[frame["unit_code"]]) == {"政府部门"}
    assert rows(frame.head(3), ["unit_code", "activities", "activity_rank"]) == [
        ("jyt", 8, 1),
        ("fgw", 5, 2),
        ("gat", 5, 2),
    ]


def test_a_click_opens_the_profile_with_the_filters_kept():
    filters = Filters(start=D(2025, 1, 1), end=D(2025, 6, 1), districts=("350102",), lang="en")
    context = SimpleNamespace(filters=filters)
    assert profile_link(context, "unit_code", "gat") == (
        "pages/unit_profile.py",
        {
            "from": "2025-01",
            "to": "2025-06",
            "district": ["350102"],
            "lang": "en",
            "focus_unit": "gat",
        },
    )
    page, query = profile_link(context, "district_code", "350103")
    assert page == "pages/district_profile.py" and query["focus_district"] == "350103"


# --- the pages -----------------------------------------------------------------------------------


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def demo_run(data_dir: Path, name: str, **params) -> pd.DataFrame:
    database = Database(Store(data_dir))
    start = D(2025, 11, 1)
    return database.run(name, **(default_params() | {"start": start, "end": DEMO_END} | params))


def url(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_unit_profile_of_a_warned_unit_shows_the_query_figures(demo_env):
    at = open_page("pages/unit_profile.py", focus_unit="tsg")
    assert at.title[0].value == "单位画像:省图书馆"
    me = demo_run(demo_env, "unit_ranking").set_index("unit_code").loc["tsg"]
    assert metric(at, "活动次数") == f"{me['activities']:,.0f}"
    assert metric(at, "满意率") == f"{me['satisfaction_rate']:.1%}"
    assert metric(at, "认领 / 完成任务") == (
        f"{me['tasks_claimed']:,.0f} / {me['tasks_completed']:,.0f}"
    )
    found = warnings.collect(lambda name, **p: demo_run(demo_env, name, **(p | {"units": ["tsg"]})))
    assert found.units() == ["tsg"]
    set_language("zh")
    assert warnings.satisfaction_evidence(found.rule("satisfaction")) in at.error[0].value
    assert url(at, "focus_unit") == "tsg"


def test_unit_profile_follows_the_district_filter_and_the_picker(demo_env):
    at = open_page("pages/unit_profile.py", focus_unit="gat", district="350102")
    me = demo_run(demo_env, "unit_ranking", districts=["350102"]).set_index("unit_code")
    assert metric(at, "活动次数") == f"{me.loc['gat', 'activities']:,.0f}"
    at.selectbox(key="w_focus_unit").select("省民政厅").run()
    assert at.title[0].value == "单位画像:省民政厅"
    assert url(at, "focus_unit") == "mzt"
    assert metric(at, "活动次数") == f"{me.loc['mzt', 'activities']:,.0f}"


def test_unit_profile_defaults_to_the_unit_filter_then_the_first_unit(demo_env):
    assert open_page("pages/unit_profile.py", unit="mzt").title[0].value == "单位画像:省民政厅"
    first = reference.names("units", "zh")[reference.load("units")["unit_code"].iloc[0]]
    at = open_page("pages/unit_profile.py", focus_unit="no-such-unit")
    assert at.title[0].value == f"单位画像:{first}"
    assert any("no-such-unit" in w.value for w in at.warning)


def test_unit_profile_in_english(demo_env):
    at = open_page("pages/unit_profile.py", focus_unit="tsg", lang="en")
    assert at.title[0].value == "Unit profile: Fujian Provincial Library"
    assert at.error[0].value.startswith(
        "**Window satisfaction below 95% for 2 consecutive months**"
    )
    me = demo_run(demo_env, "unit_ranking").set_index("unit_code").loc["tsg"]
    assert metric(at, "Satisfaction rate") == f"{me['satisfaction_rate']:.1%}"


def test_district_profile_shows_its_index_change_and_units(demo_env):
    at = open_page("pages/district_profile.py", focus_district="350102")
    assert at.title[0].value == "区县画像:鼓楼"
    history = demo_run(demo_env, "index_district_ranking", districts=["350102"])
    latest = history.iloc[-1]
    assert metric(at, "文明程度指数") == f"{latest['civilization_index']:.2f}"
    sentence = at.markdown[0].value
    assert (
        f"{latest['index_change']:+.2f}" in sentence and f"第 {int(latest['rank'])} 名" in sentence
    )
    units = demo_run(demo_env, "district_units", districts=["350102"])
    shown = at.dataframe[-1].value
    assert list(shown["unit_code"]) == list(units["unit_code"])
    assert list(shown["activities"]) == list(units["activities"])


def test_district_profile_defaults_to_the_district_filter_and_speaks_english(demo_env):
    at = open_page("pages/district_profile.py", district="350104", lang="en")
    assert at.title[0].value == "District profile: Cangshan District"
    assert at.markdown[0].value.startswith("**Cangshan District**")
    assert url(at, "focus_district") == "350104"
    assert catalogue()["profile.district.units"]["en"] in [s.value for s in at.subheader]
