"""The warning rules (civindex/warnings.py, queries/warnings_*.sql) on a tiny snapshot:
given rows -> expected rows, including the n ≥ 30 and exactly-half boundaries."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from civindex import warnings
from civindex.cli import default_params
from civindex.db import Database
from civindex.i18n import set_language
from civindex.store import Store

D = date
END = D(2025, 6, 1)
SATISFACTION_COLUMNS = [
    "response_id",
    "surveyed_on",
    "unit_code",
    "district_code",
    "window_name",
    "rating_overall",
    "response_count",
]
# (unit, day, window, rating, count): rating ≥ 3 is satisfied; counts are pooled.
SATISFACTION = [
    # gat: 28/30 in May (93.3%), 37/40 in June (92.5%) -> warned
    ("gat", D(2025, 5, 3), "A", 5, 20),
    ("gat", D(2025, 5, 9), "A", 3, 8),
    ("gat", D(2025, 5, 31), "A", 2, 2),
    ("gat", D(2025, 6, 1), "A", 4, 37),
    ("gat", D(2025, 6, 30), "A", 1, 3),
    # mzt: 27/29 in May is below but n = 29 < 30 -> not warned; 28/30 in June -> watched
    ("mzt", D(2025, 5, 10), "B", 5, 27),
    ("mzt", D(2025, 5, 11), "B", 2, 2),
    ("mzt", D(2025, 6, 10), "B", 5, 28),
    ("mzt", D(2025, 6, 11), "B", 2, 2),
    # tsg: 28/30 in May, exactly 95/100 in June: not below target -> neither list
    ("tsg", D(2025, 5, 10), "C", 4, 28),
    ("tsg", D(2025, 5, 12), "C", 2, 2),
    ("tsg", D(2025, 6, 10), "C", 3, 95),
    ("tsg", D(2025, 6, 12), "C", 1, 5),
    # hszh, June: window D 5/10, window E 90/90 -> pooled 95/100 = 95% (a mean of rates: 75%)
    ("hszh", D(2025, 5, 2), "D", 5, 40),
    ("hszh", D(2025, 6, 2), "D", 5, 5),
    ("hszh", D(2025, 6, 3), "D", 2, 5),
    ("hszh", D(2025, 6, 4), "E", 4, 90),
    # dxgs: 94/100 in both months, one response counted once (null count) -> warned;
    # April is outside the two months and does not matter
    ("dxgs", D(2025, 4, 2), "F", 1, 50),
    ("dxgs", D(2025, 5, 2), "F", 5, 94),
    ("dxgs", D(2025, 5, 3), "F", 2, 6),
    ("dxgs", D(2025, 6, 2), "F", 5, 93),
    ("dxgs", D(2025, 6, 3), "F", 5, None),
    ("dxgs", D(2025, 6, 4), "F", 2, 6),
]
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
# Windows to END = 2025-06: current 2024-07..2025-06, previous 2023-07..2024-06.
PARTICIPATION = [
    # fgw: 10 -> 5, exactly half: not warned; claimed in 2025
    (D(2024, 1, 1), "fgw", "350102", "community", 0, 0, 10),
    (D(2025, 2, 1), "fgw", "350103", "traffic", 2, 1, 5),
    # jyt: 10 -> 4: warned (-60%); last claim 2024-11
    (D(2023, 7, 1), "jyt", "350121", "volunteer", 1, 1, 6),
    (D(2024, 6, 1), "jyt", "350121", "volunteer", 0, 0, 4),
    (D(2024, 11, 1), "jyt", "350121", "volunteer", 2, 2, 4),
    # zzb: 0 -> 3: no base, not warned; never claimed
    (D(2025, 3, 1), "zzb", "350102", "moral", 0, 0, 3),
    # lsxh: 6 -> 0 (first month of the previous window): warned (-100%)
    (D(2023, 7, 1), "lsxh", "350103", "moral", 0, 0, 6),
    # gat: 2023-06 lies before the previous window; 4 -> 3 in the window edges: not warned;
    # its claims: 2024-06, and 2025-07 after the end, so no claim this year
    (D(2023, 6, 1), "gat", "350102", "traffic", 0, 0, 100),
    (D(2024, 6, 1), "gat", "350102", "traffic", 1, 1, 4),
    (D(2025, 6, 1), "gat", "350102", "traffic", 0, 0, 3),
    (D(2025, 7, 1), "gat", "350102", "traffic", 5, 5, 9),
    # mzt: claimed in January
    (D(2025, 1, 1), "mzt", "350103", "window", 1, 0, 1),
]
UNITS = ["gat", "mzt", "tsg", "hszh", "dxgs", "fgw", "jyt", "zzb", "lsxh"]


def _table(columns, rows) -> pa.Table:
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})


@pytest.fixture
def database(store) -> Database:
    satisfaction = [
        (f"S{i}", day, unit, "350102", window, rating, count)
        for i, (unit, day, window, rating, count) in enumerate(SATISFACTION)
    ]
    participation = [(*row, 10 * row[6], 2.0 * row[6]) for row in PARTICIPATION]
    store.publish("satisfaction", _table(SATISFACTION_COLUMNS, satisfaction), user="t")
    store.publish("participation", _table(PARTICIPATION_COLUMNS, participation), user="t")
    return Database(store)


def run(database: Database, name: str, **overrides) -> pd.DataFrame:
    bound = default_params() | {"end": END, "units": UNITS} | warnings.params() | overrides
    return database.run(name, **bound)


def rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    out = []
    for record in frame[columns].itertuples(index=False):
        values = []
        for value in record:
            if isinstance(value, pd.Timestamp):
                value = value.date()
            elif isinstance(value, float):
                value = None if pd.isna(value) else round(value, 4)
            elif value is pd.NaT or value is None:
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            values.append(value)
        out.append(tuple(values))
    return out


def test_thresholds_live_in_one_place():
    assert warnings.params() == {
        "satisfaction_target": 0.95,
        "min_responses": 30,
        "below_months": 2,
        "window_months": 12,
        "participation_drop": 0.5,
    }


def test_satisfaction_rule_pools_each_month_and_needs_n_30_in_both(database):
    frame = run(database, "warnings_satisfaction")
    columns = ["unit_code", "period_month", "responses", "satisfied", "satisfaction_rate"]
    flags = ["is_below_target", "is_warning", "is_below_at_end"]
    assert rows(frame, [*columns, *flags]) == [
        ("dxgs", D(2025, 5, 1), 100, 94, 0.94, True, True, True),
        ("dxgs", D(2025, 6, 1), 100, 94, 0.94, True, True, True),
        ("gat", D(2025, 5, 1), 30, 28, 0.9333, True, True, True),
        ("gat", D(2025, 6, 1), 40, 37, 0.925, True, True, True),
        ("mzt", D(2025, 5, 1), 29, 27, 0.931, False, False, True),
        ("mzt", D(2025, 6, 1), 30, 28, 0.9333, True, False, True),
        ("hszh", D(2025, 5, 1), 40, 40, 1.0, False, False, False),
        ("hszh", D(2025, 6, 1), 100, 95, 0.95, False, False, False),
        ("tsg", D(2025, 5, 1), 30, 28, 0.9333, True, False, False),
        ("tsg", D(2025, 6, 1), 100, 95, 0.95, False, False, False),
    ]


def test_satisfaction_rule_lists_window_units_without_responses_as_no_data(database):
    frame = run(database, "warnings_satisfaction", end=D(2025, 8, 1), units=["gat", "fgw"])
    # gat has a service window but no responses in July or August; fgw has neither
    assert rows(frame, ["unit_code", "responses", "satisfaction_rate", "is_warning"]) == [
        ("gat", 0, None, False),
        ("gat", 0, None, False),
    ]


def test_participation_rule_compares_rolling_twelve_months_and_spares_exactly_half(database):
    frame = run(database, "warnings_participation")
    assert rows(
        frame,
        [
            "unit_code",
            "current_start",
            "current_end",
            "current_activities",
            "previous_start",
            "previous_end",
            "previous_activities",
            "activity_change",
        ],
    ) == [
        ("lsxh", D(2024, 7, 1), END, 0, D(2023, 7, 1), D(2024, 6, 1), 6, -1.0),
        ("jyt", D(2024, 7, 1), END, 4, D(2023, 7, 1), D(2024, 6, 1), 10, -0.6),
    ]


def test_claims_rule_lists_department_units_without_a_claim_this_year(database):
    frame = run(database, "warnings_claims")
    # lsxh, tsg and dxgs are not department-level; gat's July claim is after the end month
    assert rows(frame, ["unit_code", "year", "last_claim_month"]) == [
        ("hszh", 2025, None),
        ("zzb", 2025, None),
        ("gat", 2025, D(2024, 6, 1)),
        ("jyt", 2025, D(2024, 11, 1)),
    ]


def test_claims_rule_in_january_counts_only_the_new_year(database):
    frame = run(database, "warnings_claims", end=D(2025, 1, 1), units=["fgw", "mzt"])
    assert rows(frame, ["unit_code", "last_claim_month"]) == [("fgw", None)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"districts": ["350103"]}, {"mzt", "lsxh"}),  # by paired district, not by row
        ({"systems": ["群团组织"]}, {"hszh"}),
        ({"units": ["jyt", "gat"]}, {"jyt", "gat"}),
    ],
)
def test_filters_pick_units_and_rules_see_their_whole_record(database, filters, expected):
    listed = set()
    for rule in warnings.RULES:
        listed |= set(run(database, f"warnings_{rule}", **filters)["unit_code"])
    assert listed == expected


def test_collect_unions_the_rules_and_keeps_the_watch_list(database):
    def runner(name, **params):
        return run(database, name, **params)

    found = warnings.collect(runner)
    assert found.units("satisfaction") == ["dxgs", "gat"]
    assert found.units("participation") == ["jyt", "lsxh"]
    assert found.units("claims") == ["gat", "hszh", "jyt", "zzb"]
    assert found.units() == ["dxgs", "gat", "hszh", "jyt", "lsxh", "zzb"]
    assert sorted(set(found.watch["unit_code"])) == ["mzt"]


def test_count_card_compares_with_last_month_and_last_year(database):
    def runner(name, **params):
        return run(database, name, **params)

    card = warnings.count_card(runner, END)
    may = warnings.collect(runner, end=D(2025, 5, 1))
    # May: dxgs is below in April (0/50) and May; gat's 2023-06 falls in the previous window
    assert may.units("satisfaction") == ["dxgs"]
    assert may.units("participation") == ["gat", "lsxh"]
    assert may.units() == ["dxgs", "gat", "hszh", "jyt", "lsxh", "zzb"]
    year_ago = warnings.collect(runner, end=D(2024, 6, 1))
    assert year_ago.units() == ["fgw", "gat", "hszh", "jyt", "mzt", "zzb"]
    assert (card.key, card.value, card.previous, card.year_ago) == ("warning_units", 6, 6, 6)


def test_evidence_reads_as_months_rates_and_n(database):
    def runner(name, **params):
        return run(database, name, **params)

    found = warnings.collect(runner)
    set_language("zh")
    gat = found.rule("satisfaction").query("unit_code == 'gat'")
    assert warnings.satisfaction_evidence(gat) == "2025-05 93.3%(n=30) · 2025-06 92.5%(n=40)"
    jyt = found.participation.query("unit_code == 'jyt'").iloc[0]
    assert warnings.participation_evidence(jyt) == (
        "近12个月(2024-07至2025-06)活动 4 次,此前12个月(2023-07至2024-06)10 次,变化 -60%"
    )
    zzb, gat_claim = (found.claims.query(f"unit_code == '{u}'").iloc[0] for u in ("zzb", "gat"))
    assert warnings.claims_evidence(zzb) == "2025年未认领,此前也无认领记录"
    set_language("en")
    assert warnings.claims_evidence(gat_claim) == "No claim in 2025; last claim 2024-06"
    set_language("zh")


def test_claims_rule_agrees_with_the_claim_rate_on_the_demo(demo_env):
    database = Database(Store(demo_env))
    end = D(2026, 10, 1)
    unclaimed = database.run("warnings_claims", **(default_params() | {"end": end}))
    claims = database.run("claim_rate_by_year", **(default_params() | {"end": end}))
    latest = claims[claims["year"] == 2026].iloc[0]
    assert len(unclaimed) == latest["department_units"] - latest["claiming_units"] > 0
