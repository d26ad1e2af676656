"""The demo data reproduces the seed's published figures (SPEC §2.4). `pytest -s` prints them."""

from __future__ import annotations

import time
from datetime import date
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
from conftest import DEMO_END

from civindex import demo, reference
from civindex.cli import default_params
from civindex.db import Database
from civindex.kpi import shift_month
from civindex.schema import DATASETS, DEMO_PREFIX, SATISFACTION_TARGET, SMALL_SAMPLE, UPLOAD_ID
from civindex.store import Store

LATEST_FULL_YEAR = 2025


def params(**overrides) -> dict[str, object]:
    return default_params() | {"end": DEMO_END} | overrides


@pytest.fixture(scope="module")
def demo_db(demo_dir: Path) -> Database:
    return Database(Store(demo_dir))


def total(database: Database, column: str, **filters) -> float:
    return float(database.run("participation_monthly", **params(**filters))[column].sum())


def index_by_district(database: Database) -> pd.DataFrame:
    districts = reference.load("districts")
    frames = []
    for code in districts["district_code"]:
        rounds = database.run("index_by_round", **params(districts=[code]))
        frames.append(rounds.assign(district_code=code))
    return pd.concat(frames).merge(districts, on="district_code")


def units_below_target_twice(database: Database, months: int = 3) -> list[str]:
    """Window units below 95% in two consecutive months (each n >= 30) of the last `months`."""
    first = shift_month(DEMO_END, -(months - 1))
    window_units = reference.load("units").query("has_service_window")["unit_code"]
    flagged = []
    for unit in window_units:
        monthly = database.run(
            "satisfaction_monthly", **params(start=first, units=[unit])
        ).set_index("period_month")
        below = [
            pd.Timestamp(month) in monthly.index
            and monthly.loc[pd.Timestamp(month), "responses"] >= SMALL_SAMPLE
            and monthly.loc[pd.Timestamp(month), "satisfaction_rate"] < SATISFACTION_TARGET
            for month in (shift_month(first, i) for i in range(months))
        ]
        if any(a and b for a, b in pairwise(below)):
            flagged.append(unit)
    return flagged


@pytest.fixture(scope="module")
def figures(demo_db: Database) -> dict[str, object]:
    claims = demo_db.run("claim_rate_by_year", **params(end=date(LATEST_FULL_YEAR, 12, 1)))
    latest = claims.set_index("year").loc[LATEST_FULL_YEAR]
    satisfaction = demo_db.run("satisfaction_monthly", **params())
    rates = satisfaction["satisfaction_rate"]
    index = index_by_district(demo_db)
    households = demo_db.sql("select sum(households_helped) as n from participation")["n"][0]
    found = {
        "claim_rate_2025": float(latest["claim_rate"]),
        "claiming_units_2025": f"{int(latest['claiming_units'])}/{int(latest['department_units'])}",
        "practical_matters": total(demo_db, "practical_matters"),
        "volunteer_participants": total(demo_db, "participants", categories=["volunteer"]),
        "moral_activities": total(demo_db, "activities", categories=["moral"]),
        "households_helped": float(households),
        "satisfaction_responses": float(satisfaction["responses"].sum()),
        "months": len(rates),
        "months_95_99": float(rates.between(0.95, 0.99).mean()),
        "satisfaction_min_max": (float(rates.min()), float(rates.max())),
        "units_below_target_twice": units_below_target_twice(demo_db),
        "index_min_max": (
            float(index["civilization_index"].min()),
            index["civilization_index"].max(),
        ),
        "index_core_urban": float(index.query("is_core_urban")["civilization_index"].mean()),
        "index_other": float(index.query("not is_core_urban")["civilization_index"].mean()),
        "index_counties": float(index.query("district_type == '县'")["civilization_index"].mean()),
        "index_round_change": index.sort_values("round_date")
        .groupby("district_code")["civilization_index"]
        .diff()
        .abs()
        .dropna(),
    }
    changes = found["index_round_change"]
    print("\n[demo calibration, end month 2026-10]")
    print(
        f"  claim rate of department-level units, {LATEST_FULL_YEAR}: "
        f"{found['claim_rate_2025']:.1%} ({found['claiming_units_2025']})"
    )
    print(f"  practical matters since 2012: {found['practical_matters']:,.0f}")
    print(f"  volunteer-category participants since 2012: {found['volunteer_participants']:,.0f}")
    print(f"  moral-category activities since 2012: {found['moral_activities']:,.0f}")
    print(f"  households helped since 2012: {found['households_helped']:,.0f}")
    print(f"  satisfaction responses: {found['satisfaction_responses']:,.0f}")
    low, high = found["satisfaction_min_max"]
    print(
        f"  monthly pooled satisfaction: {low:.1%}–{high:.1%}, "
        f"{found['months_95_99']:.0%} of {found['months']} months within 95–99%"
    )
    print(
        f"  units below 95% two months running (n>=30, Aug–Oct 2026): "
        f"{', '.join(found['units_below_target_twice'])}"
    )
    low, high = found["index_min_max"]
    print(
        f"  civilization index: {low:.2f}–{high:.2f}; core urban {found['index_core_urban']:.2f}, "
        f"other {found['index_other']:.2f}, counties {found['index_counties']:.2f}"
    )
    print(
        f"  index change per round: median {changes.median():.2f}, "
        f"{(changes <= 3.5).mean():.0%} within 3.5 points"
    )
    return found


def test_claim_rate_of_department_units_in_the_latest_full_year_is_86_percent(figures):
    assert round(figures["claim_rate_2025"], 2) == 0.86


def test_practical_matters_since_2012(figures):
    assert 3_500 <= figures["practical_matters"] <= 3_700


def test_volunteer_participants_since_2012(figures):
    assert 85_000 <= figures["volunteer_participants"] <= 95_000


def test_moral_activities_since_2012(figures):
    assert 800 <= figures["moral_activities"] <= 900


def test_households_helped_since_2012(figures):
    assert 1_200 <= figures["households_helped"] <= 1_400


def test_about_300k_satisfaction_responses(figures):
    assert 270_000 <= figures["satisfaction_responses"] <= 330_000


def test_monthly_satisfaction_is_mostly_95_to_99_percent(figures):
    assert figures["months"] == 12 * (2026 - 2012) + 10
    assert figures["months_95_99"] >= 0.9
    low, high = figures["satisfaction_min_max"]
    assert low > 0.9 and high < 1


def test_some_units_fall_below_target_two_months_running(figures):
    assert 1 <= len(figures["units_below_target_twice"]) <= 10


def test_index_scores_stay_within_85_to_96(figures):
    low, high = figures["index_min_max"]
    assert low >= 85 and high <= 96


def test_core_urban_districts_score_higher_than_counties(figures):
    assert figures["index_core_urban"] > figures["index_counties"] + 1
    assert figures["index_core_urban"] > figures["index_other"] + 1


def test_index_moves_a_few_points_per_round(figures):
    changes = figures["index_round_change"]
    assert 0.5 <= changes.median() <= 3
    assert (changes <= 3.5).mean() >= 0.9


def test_every_demo_row_is_marked(demo_db, demo_dir):
    counts = demo_db.run("data_extent")
    assert (counts["rows"] > 0).all()
    assert (counts["rows"] == counts["demo_rows"]).all()
    store = Store(demo_dir)
    for name in DATASETS:
        ids = store.read(name).column(UPLOAD_ID)
        assert pc.all(pc.starts_with(ids, DEMO_PREFIX)).as_py(), name
    assert all(entry["is_demo"] for entry in store.history())


def test_the_demo_is_deterministic(tmp_path_factory):
    tables = []
    for attempt in ("first", "second"):
        store = Store(tmp_path_factory.mktemp(f"demo-{attempt}"))
        started = time.perf_counter()
        demo.build(store, end_month=DEMO_END)
        print(f"\n[demo build ({attempt}): {time.perf_counter() - started:.1f} s]")
        tables.append(
            {
                "participation": store.read("participation").drop_columns([UPLOAD_ID]),
                "index_results": store.read("index_results").drop_columns([UPLOAD_ID]),
                "satisfaction": Database(store).run("satisfaction_monthly", **params()),
            }
        )
    first, second = tables
    for name in ("participation", "index_results"):
        assert first[name].num_rows > 0
        assert first[name].equals(second[name]), f"{name} differs between two builds"
    pd.testing.assert_frame_equal(first["satisfaction"], second["satisfaction"])


def test_a_rebuild_replaces_the_demo_instead_of_adding_to_it(demo_store):
    before = demo_store.count_rows("participation")
    demo.build(demo_store, end_month=DEMO_END)
    assert demo_store.count_rows("participation") == before
    assert len({b["upload_id"] for b in demo_store.batches() if not b["rolled_back"]}) == 3
