"""KPI cards read a month, the month before and the same month a year earlier out of a monthly
query result, whatever form its month column arrives in."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from civindex import kpi

MONTHS = [date(2025, 3, 1), date(2026, 2, 1), date(2026, 3, 1)]


def monthly(months, form: str) -> pd.Series:
    if form == "datetime64":
        return pd.Series(pd.to_datetime(months), dtype="datetime64[us]")
    if form == "date objects":
        return pd.Series(months, dtype=object)
    return pd.Series([m.isoformat() for m in months], dtype="str")


@pytest.mark.parametrize("form", ["datetime64", "date objects", "ISO strings"])
def test_monthly_card_reads_the_month_and_its_comparisons(form):
    frame = pd.DataFrame(
        {
            "period_month": monthly(MONTHS, form),
            "activities": pd.Series([80, 100, 120], dtype="int64"),
        }
    )
    card = kpi.monthly_card(frame, date(2026, 3, 1), "activities", "activities")
    assert (card.value, card.previous, card.year_ago) == (120, 100, 80)
    assert all(type(v) is int for v in (card.value, card.previous, card.year_ago))
    assert card.mom == pytest.approx(0.2) and card.yoy == pytest.approx(0.5)


def test_a_month_not_in_the_result_is_no_value():
    frame = pd.DataFrame(
        {"period_month": monthly(MONTHS[1:], "datetime64"), "activities": [100.0, 120.0]}
    )
    card = kpi.monthly_card(frame, date(2026, 3, 1), "activities", "activities")
    assert (card.value, card.previous, card.year_ago, card.yoy) == (120.0, 100.0, None, None)
    assert kpi.monthly_card(frame, date(2026, 4, 1), "activities", "activities").value is None
    assert kpi.monthly_card(frame.iloc[:0], date(2026, 3, 1), "activities", "activities") == (
        kpi.Card("activities", None, None, None)
    )


def test_missing_values_are_none_and_the_first_row_of_a_month_counts():
    frame = pd.DataFrame(
        {
            "period_month": monthly([MONTHS[0], MONTHS[1], MONTHS[2], MONTHS[2]], "datetime64"),
            "activities": pd.array([None, 7, 9, 1], dtype="Int64"),
            "hours": [1.5, float("nan"), 2.5, 0.0],
        }
    )
    card = kpi.monthly_card(frame, date(2026, 3, 1), "activities", "activities")
    assert (card.value, card.previous, card.year_ago) == (9, 7, None)
    hours = kpi.monthly_card(frame, date(2026, 3, 1), "hours", "hours")
    assert (hours.value, hours.previous, hours.year_ago) == (2.5, None, 1.5)


def test_satisfaction_card_carries_the_sample_and_interval_of_the_month():
    frame = pd.DataFrame(
        {
            "period_month": monthly(MONTHS, "date objects"),
            "responses": [400, 500, 612],
            "satisfaction_rate": [0.9, 0.93, 0.96],
            "rate_low": [0.87, 0.9, 0.944],
            "rate_high": [0.92, 0.95, 0.973],
        }
    )
    card = kpi.satisfaction_card(frame, date(2026, 3, 1))
    assert (card.value, card.previous, card.year_ago) == (0.96, 0.93, 0.9)
    assert (card.n, card.low, card.high) == (612, 0.944, 0.973)
    assert card.mom == pytest.approx(0.03) and card.yoy == pytest.approx(0.06)
    assert not card.below_target and not card.is_small_sample


def test_claim_rate_card_compares_the_year_to_date_with_a_month_earlier_and_last_year():
    by_year = pd.DataFrame(
        {
            "year": [2025, 2026],
            "claim_rate": [0.8, 0.87],
            "department_units": [140, 150],
        }
    )
    before = pd.DataFrame({"year": [2026], "claim_rate": [0.85], "department_units": [150]})
    card = kpi.claim_rate_card(by_year, date(2026, 3, 1), before)
    assert (card.value, card.previous, card.year_ago, card.n) == (0.87, 0.85, 0.8, 150)
    assert type(card.n) is int
    january = kpi.claim_rate_card(by_year, date(2026, 1, 1), by_year.iloc[:1])
    assert (january.value, january.previous) == (0.87, 0.8)  # December's year to date
    empty = kpi.claim_rate_card(by_year.iloc[:0], date(2026, 3, 1), by_year.iloc[:0])
    assert (empty.value, empty.previous, empty.year_ago, empty.n) == (None, None, None, None)


def test_index_card_compares_with_the_previous_round_of_the_latest_type():
    by_round = pd.DataFrame(
        {
            "round_name": ["2025 年度", "2026 Q1 暗访", "2026 年度", "2026 Q2 暗访"],
            "round_type": ["annual", "spot", "annual", "spot"],
            "civilization_index": [81.5, 78.25, 84.0, 80.5],
        }
    )
    card = kpi.index_card(by_round)
    assert (card.value, card.previous, card.label) == (80.5, 78.25, "2026 Q2 暗访")
    first = kpi.index_card(by_round.iloc[:1])
    assert (first.value, first.previous, first.label) == (81.5, None, "2025 年度")
    assert kpi.index_card(by_round.iloc[:0]) == kpi.Card("civilization_index", None)
