"""Named queries on a tiny hand-written snapshot: given rows -> expected rows.

Every `queries/*.sql` is discovered, so a new query file is run here without editing this test.
"""

from __future__ import annotations

import gc
import math
import shutil
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from civindex import reference
from civindex.cli import default_params
from civindex.config import reference_dir
from civindex.db import Database, load_query, query_names
from civindex.store import Store

# Parameters a query needs beyond civindex.cli.default_params(), by query name.
EXTRA_PARAMS: dict[str, dict[str, object]] = {}

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
    "practical_matters",
]
SATISFACTION_COLUMNS = [
    "response_id",
    "surveyed_on",
    "unit_code",
    "district_code",
    "rating_overall",
    "response_count",
]
INDEX_COLUMNS = [
    "round_name",
    "round_date",
    "round_type",
    "district_code",
    "indicator_code",
    "score",
    "max_score",
]


PARTICIPATION = [
    (D(2024, 11, 1), "gat", "350102", "traffic", 1, 0, 5, 100, 150.0, None),
    (D(2025, 1, 1), "fgw", "350102", "community", 2, 1, 3, 30, 60.0, 4),
    (D(2025, 1, 1), "jyt", "350121", "volunteer", 1, 1, 2, 20, 40.0, None),
    (D(2025, 1, 1), "lsxh", "350103", "moral", 0, 0, 1, 50, 0.0, None),
    (D(2025, 2, 1), "fgw", "350102", "volunteer", 3, 3, 4, 40, 80.0, 2),
    (D(2025, 2, 1), "zzb", "350102", "community", 0, 0, 1, 10, 10.0, None),
]
SATISFACTION = [
    ("R1", D(2025, 3, 1), "gat", "350102", 5, 70),
    ("R2", D(2025, 3, 12), "gat", "350102", 3, 10),
    ("R3", D(2025, 3, 15), "mzt", "350103", 2, 5),
    ("R4", D(2025, 3, 31), "mzt", "350103", 4, 15),
    ("R5", D(2025, 4, 2), "gat", "350102", 4, 1),
    ("R6", D(2025, 4, 3), "gat", "350102", 1, 1),
    (None, D(2025, 4, 30), "mzt", "350103", 5, None),
]
Q1 = ("2025年第1季度模拟测评", D(2025, 3, 20), "模拟测评")
ANNUAL = ("2025年度测评", D(2025, 12, 10), "年度测评")
INDEX = [
    (*Q1, "350102", "key_tasks", 27.0, 29.0),
    (*Q1, "350102", "environment", 20.0, 22.0),
    (*Q1, "350102", "order", 17.0, 18.0),
    (*Q1, "350102", "welfare", 24.0, 26.0),
    (*Q1, "350102", "relations", 5.0, 5.0),
    (*Q1, "350121", "key_tasks", 25.0, 29.0),
    (*Q1, "350121", "environment", 18.0, 22.0),
    (*Q1, "350121", "order", 15.0, 18.0),
    (*Q1, "350121", "welfare", 22.0, 26.0),
    (*Q1, "350121", "relations", 4.0, 5.0),
    (*ANNUAL, "350102", "key_tasks", 28.0, 29.0),
    (*ANNUAL, "350102", "relations", 4.0, 5.0),
    (*ANNUAL, "350121", "welfare", 20.0, 26.0),
]


def table(columns: list[str], rows: list[tuple]) -> pa.Table:
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})


@pytest.fixture
def fixture_store(store) -> Store:
    store.publish("participation", table(PARTICIPATION_COLUMNS, PARTICIPATION), user="t")
    store.publish("satisfaction", table(SATISFACTION_COLUMNS, SATISFACTION), user="t")
    store.publish("index_results", table(INDEX_COLUMNS, INDEX), user="t")
    return store


@pytest.fixture
def database(fixture_store) -> Database:
    return Database(fixture_store)


def params(**overrides) -> dict[str, object]:
    return default_params() | overrides


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as tuples, dates as `date`, missing values as None, floats rounded to 6 places."""
    out = []
    for row in frame[columns].itertuples(index=False):
        values = []
        for value in row:
            if isinstance(value, pd.Timestamp):
                value = value.date()
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                value = None
            elif isinstance(value, float):
                value = round(value, 6)
            elif hasattr(value, "item"):
                value = value.item()
            values.append(value)
        out.append(tuple(values))
    return out


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


# --- every query runs ---------------------------------------------------------------------------


def query_params(name: str) -> dict[str, object]:
    given = default_params() | EXTRA_PARAMS.get(name, {})
    missing = [p for p in load_query(name).params if p not in given]
    if missing:
        pytest.fail(
            f"queries/{name}.sql uses ${', $'.join(missing)} which neither "
            "civindex.cli.default_params() nor EXTRA_PARAMS in tests/test_queries.py provides; "
            "add a default so `python -m civindex query` and this test can run it"
        )
    return given


@pytest.mark.parametrize("name", query_names())
def test_every_query_runs_on_the_fixture_snapshot(database, name):
    result = database.run(name, **query_params(name))
    assert len(result.columns) > 0
    assert len(result) > 0, (
        f"{name} returned no rows on the fixture snapshot; add rows to the fixture above so "
        "its result can be checked"
    )


@pytest.mark.parametrize("name", query_names())
def test_every_query_runs_on_an_empty_store(store, name):
    result = Database(store).run(name, **query_params(name))
    assert len(result.columns) > 0


@pytest.mark.parametrize("name", query_names())
def test_every_query_header_names_its_grain_and_params(name):
    query = load_query(name)
    assert query.description.startswith(f"{name}:"), "first line: `-- name: grain; $params`"
    for param in query.params:
        assert f"${param}" in query.description, f"header of {name}.sql omits ${param}"


# --- participation_monthly ----------------------------------------------------------------------

MONTHLY = [
    "period_month",
    "participating_units",
    "tasks_claimed",
    "tasks_completed",
    "activities",
    "participants",
    "volunteer_hours",
    "practical_matters",
    "completion_rate",
]


def test_participation_monthly_totals(database):
    result = database.run("participation_monthly", **params())
    assert records(result, MONTHLY) == [
        (D(2024, 11, 1), 1, 1, 0, 5, 100, 150.0, None, 0.0),
        (D(2025, 1, 1), 3, 3, 2, 6, 100, 100.0, 4, round(2 / 3, 6)),
        (D(2025, 2, 1), 2, 3, 3, 5, 50, 90.0, 2, 1.0),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            {"districts": ["350102"]},
            [(D(2024, 11, 1), 1, 100), (D(2025, 1, 1), 1, 30), (D(2025, 2, 1), 2, 50)],
        ),
        ({"systems": ["党群机关"]}, [(D(2025, 2, 1), 1, 10)]),
        ({"units": ["jyt", "lsxh"]}, [(D(2025, 1, 1), 2, 70)]),
        ({"categories": ["volunteer"]}, [(D(2025, 1, 1), 1, 20), (D(2025, 2, 1), 1, 40)]),
        (
            {"units": ["fgw", "zzb"], "categories": ["community"]},
            [(D(2025, 1, 1), 1, 30), (D(2025, 2, 1), 1, 10)],
        ),
        ({"start": D(2025, 1, 1), "end": D(2025, 1, 1)}, [(D(2025, 1, 1), 3, 100)]),
        ({"districts": ["350181"]}, []),
    ],
)
def test_participation_monthly_filters(database, filters, expected):
    result = database.run("participation_monthly", **params(**filters))
    assert records(result, ["period_month", "participating_units", "participants"]) == expected


# --- satisfaction_monthly -----------------------------------------------------------------------

RATES = [
    "period_month",
    "responses",
    "satisfied",
    "good",
    "satisfaction_rate",
    "good_rate",
    "is_small_sample",
]


def test_satisfaction_rate_is_pooled_over_response_counts(database):
    result = database.run("satisfaction_monthly", **params())
    # March: gat 80/80 satisfied, mzt 15/20. Pooled 95/100; a mean of the two unit rates would
    # say 87.5% and a mean over the four rows 75%.
    # April: three single responses (one with no count, read as 1), two satisfied.
    assert records(result, RATES) == [
        (D(2025, 3, 1), 100, 95, 85, 0.95, 0.85, False),
        (D(2025, 4, 1), 3, 2, 2, round(2 / 3, 6), round(2 / 3, 6), True),
    ]


def test_satisfaction_wilson_bounds(database):
    result = database.run("satisfaction_monthly", **params()).set_index("period_month")
    march = result.loc[pd.Timestamp(2025, 3, 1)]
    april = result.loc[pd.Timestamp(2025, 4, 1)]
    # 95 of 100: the textbook Wilson 95% interval is 88.8%–97.8%.
    assert march["rate_low"] == pytest.approx(0.888248, abs=1e-6)
    assert march["rate_high"] == pytest.approx(0.978457, abs=1e-6)
    assert (april["rate_low"], april["rate_high"]) == pytest.approx(wilson(2, 3), abs=1e-9)
    assert march["rate_low"] < march["satisfaction_rate"] < march["rate_high"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"districts": ["350103"]}, [(D(2025, 3, 1), 20, 15), (D(2025, 4, 1), 1, 1)]),
        ({"units": ["gat"]}, [(D(2025, 3, 1), 80, 80), (D(2025, 4, 1), 2, 1)]),
        ({"systems": ["政府部门"]}, [(D(2025, 3, 1), 100, 95), (D(2025, 4, 1), 3, 2)]),
        ({"systems": ["党群机关"]}, []),
        # The end month counts up to its last day (R4 was surveyed on 31 March).
        ({"start": D(2025, 3, 1), "end": D(2025, 3, 1)}, [(D(2025, 3, 1), 100, 95)]),
    ],
)
def test_satisfaction_monthly_filters(database, filters, expected):
    result = database.run("satisfaction_monthly", **params(**filters))
    assert records(result, ["period_month", "responses", "satisfied"]) == expected


# --- claim_rate_by_year -------------------------------------------------------------------------


def department_units(system: str | None = None) -> int:
    units = reference.load("units")
    if system:
        units = units[units["unit_system"] == system]
    return int(units["is_department_level"].sum())


CLAIMS = ["year", "department_units", "claiming_units", "claim_rate"]


def test_claim_rate_by_year_counts_department_units_that_claimed(database):
    n = department_units()
    result = database.run("claim_rate_by_year", **params(end=D(2025, 12, 1)))
    # 2024: gat. 2025: fgw and jyt; lsxh is not department-level, zzb claimed nothing.
    assert records(result, CLAIMS) == [
        (2024, n, 1, round(1 / n, 6)),
        (2025, n, 2, round(2 / n, 6)),
    ]


def test_claim_rate_by_year_compares_the_same_months_of_each_year(database):
    n = department_units()
    result = database.run("claim_rate_by_year", **params(end=D(2025, 6, 1)))
    # January to June only: gat's November claim does not count for 2024.
    assert records(result, CLAIMS) == [(2024, n, 0, 0.0), (2025, n, 2, round(2 / n, 6))]


@pytest.mark.parametrize(
    ("filters", "expected_2025"),
    [
        ({"systems": ["党群机关"]}, (department_units("党群机关"), 0)),
        ({"units": ["fgw"]}, (1, 1)),
        ({"units": ["fgw", "lsxh"]}, (1, 1)),
        ({"districts": ["350121"]}, (department_units(), 1)),
        ({"categories": ["volunteer"]}, (department_units(), 2)),
        ({"categories": ["moral"]}, (department_units(), 0)),
    ],
)
def test_claim_rate_by_year_filters(database, filters, expected_2025):
    result = database.run("claim_rate_by_year", **params(end=D(2025, 12, 1), **filters))
    row = result.set_index("year").loc[2025]
    units, claiming = expected_2025
    assert (int(row["department_units"]), int(row["claiming_units"])) == (units, claiming)
    assert row["claim_rate"] == pytest.approx(claiming / units)


def test_claim_rate_by_year_stops_at_the_end_year(database):
    result = database.run("claim_rate_by_year", **params(end=D(2024, 12, 1)))
    assert list(result["year"]) == [2024]


# --- index_by_round -----------------------------------------------------------------------------


def test_index_by_round_pools_scores_over_districts(database):
    result = database.run("index_by_round", **params())
    # Q1: (93 + 84) / 200. Annual: (28 + 4 + 20) / (29 + 5 + 26) = 52 / 60, not the mean of
    # the two district indices (85.5).
    assert records(result, ["round_name", "round_type", "districts", "civilization_index"]) == [
        (Q1[0], "模拟测评", 2, 88.5),
        (ANNUAL[0], "年度测评", 2, round(100 * 52 / 60, 6)),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"districts": ["350121"]}, [(Q1[0], 84.0), (ANNUAL[0], round(100 * 20 / 26, 6))]),
        ({"districts": ["350102"]}, [(Q1[0], 93.0), (ANNUAL[0], round(100 * 32 / 34, 6))]),
        ({"end": D(2025, 11, 1)}, [(Q1[0], 88.5)]),
        ({"start": D(2025, 4, 1), "end": D(2025, 12, 1)}, [(ANNUAL[0], round(100 * 52 / 60, 6))]),
    ],
)
def test_index_by_round_filters(database, filters, expected):
    result = database.run("index_by_round", **params(**filters))
    assert records(result, ["round_name", "civilization_index"]) == expected


# --- data_extent --------------------------------------------------------------------------------


def test_demo_rows_counts_only_demo_batches(fixture_store):
    demo = table(
        PARTICIPATION_COLUMNS,
        [(D(2025, 5, 1), "fgw", "350102", "environment", 1, 1, 1, 5, 5.0, None)],
    )
    fixture_store.publish("participation", demo, user="demo", upload_id="demo-p", is_demo=True)
    result = Database(fixture_store).run("data_extent")
    assert records(result, ["dataset", "rows", "demo_rows"]) == [
        ("participation", 7, 1),
        ("satisfaction", 7, 0),
        ("index_results", 13, 0),
    ]


def test_data_extent(database):
    result = database.run("data_extent")
    assert records(result, ["dataset", "first_month", "last_month", "rows"]) == [
        ("participation", D(2024, 11, 1), D(2025, 2, 1), 6),
        ("satisfaction", D(2025, 3, 1), D(2025, 4, 1), 7),
        ("index_results", D(2025, 3, 1), D(2025, 12, 1), 13),
    ]


def test_data_extent_of_an_empty_store(store):
    result = Database(store).run("data_extent")
    assert list(result["rows"]) == [0, 0, 0]
    assert result["last_month"].isna().all()


# --- snapshots ----------------------------------------------------------------------------------


def test_a_query_as_of_an_older_snapshot_returns_the_older_figures(fixture_store):
    first = fixture_store.history("participation")[0]["committed_at"]
    later = table(
        PARTICIPATION_COLUMNS,
        [(D(2025, 2, 1), "czt", "350104", "environment", 2, 2, 6, 60, 120.0, None)],
    )
    fixture_store.publish("participation", later, user="t")

    def february(database: Database) -> tuple:
        result = database.run("participation_monthly", **params())
        row = result[result["period_month"] == pd.Timestamp(2025, 2, 1)]
        return records(row, ["participating_units", "activities", "participants"])[0]

    assert february(Database(fixture_store)) == (3, 11, 110)
    assert february(Database(fixture_store, fixture_store.snapshot(first))) == (2, 5, 50)
    old = {"participation": 0, "satisfaction": 0, "index_results": 0}
    assert february(Database(fixture_store, old)) == (2, 5, 50)


# --- reference lists ----------------------------------------------------------------------------


def test_an_edited_reference_list_gets_a_new_schema_and_the_old_one_goes_with_its_last_reader(
    store,
):
    folder = store.root / "reference"
    shutil.copytree(reference_dir(), folder)

    def schemas(database: Database) -> set[str]:
        found = database.sql("select schema_name from duckdb_schemas()")["schema_name"]
        return set(found)

    def unit_count(database: Database) -> int:
        return int(database.sql("select count(*) as n from units")["n"].iloc[0])

    before = Database(store)
    assert Database(store).references is before.references  # unchanged files: the same one
    units = len(reference.load("units", store.root))
    with (folder / "units.csv").open("a", encoding="utf-8") as handle:
        handle.write("xdw,新单位,新单位,New Unit,党群机关,true,350102,false,\n")
    after = Database(store)
    old_schema, new_schema = before.references.name, after.references.name
    assert old_schema != new_schema
    assert (unit_count(before), unit_count(after)) == (units, units + 1)
    assert old_schema in schemas(after)  # still read by `before`
    del before
    gc.collect()
    assert old_schema not in schemas(after) and new_schema in schemas(after)
    assert unit_count(after) == units + 1
