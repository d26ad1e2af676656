"""KPI cards from monthly query results: the value of a month, its 环比 (previous month) and
同比 (same month a year earlier), and for rates the sample size and Wilson interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from civindex.schema import SATISFACTION_TARGET, SMALL_SAMPLE


@dataclass(frozen=True)
class Card:
    key: str
    value: float | None
    previous: float | None = None
    year_ago: float | None = None
    is_rate: bool = False
    n: int | None = None
    low: float | None = None
    high: float | None = None
    target: float | None = None
    label: str | None = None

    @property
    def mom(self) -> float | None:
        return _change(self.value, self.previous, self.is_rate)

    @property
    def yoy(self) -> float | None:
        return _change(self.value, self.year_ago, self.is_rate)

    @property
    def is_small_sample(self) -> bool:
        return self.n is not None and self.n < SMALL_SAMPLE

    @property
    def below_target(self) -> bool:
        return self.target is not None and self.value is not None and self.value < self.target


def _change(value, base, is_rate: bool) -> float | None:
    """Rates change in percentage points; counts change relative to their base."""
    if value is None or base is None or missing(value) or missing(base):
        return None
    if is_rate:
        return value - base
    return (value - base) / base if base else None


def missing(value) -> bool:
    """None, pandas' NA or a float NaN: a value that was not there."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def shift_month(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _at(frame: pd.DataFrame, month: date, column: str, date_column: str = "period_month"):
    """`column` in the first row of `month`, or None. The month is compared as a datetime64
    and only the one cell is read: `.dt.date` made a Python date of every row, and a row of a
    mixed frame is a Series of its own (the overview calls this 18 times a run)."""
    if frame.empty:
        return None
    months = pd.to_datetime(frame[date_column]).to_numpy()
    found = np.flatnonzero(months == np.datetime64(month, "D"))
    if not len(found):
        return None
    value = frame[column].iat[found[0]]
    return None if pd.isna(value) else value.item() if hasattr(value, "item") else value


def monthly_card(frame: pd.DataFrame, month: date, key: str, column: str) -> Card:
    return Card(
        key,
        _at(frame, month, column),
        _at(frame, shift_month(month, -1), column),
        _at(frame, shift_month(month, -12), column),
    )


def satisfaction_card(frame: pd.DataFrame, month: date) -> Card:
    n = _at(frame, month, "responses")
    return Card(
        "satisfaction_rate",
        _at(frame, month, "satisfaction_rate"),
        _at(frame, shift_month(month, -1), "satisfaction_rate"),
        _at(frame, shift_month(month, -12), "satisfaction_rate"),
        is_rate=True,
        n=int(n) if n is not None else None,
        low=_at(frame, month, "rate_low"),
        high=_at(frame, month, "rate_high"),
        target=SATISFACTION_TARGET,
    )


def claim_rate_card(by_year: pd.DataFrame, month: date, by_year_previous_month) -> Card:
    """Year-to-date claim rate; 环比 compares with the year to date one month earlier."""

    def rate(frame: pd.DataFrame, year: int):
        rows = frame[frame["year"] == year] if not frame.empty else frame
        return None if rows.empty else float(rows.iloc[0]["claim_rate"])

    rows = by_year[by_year["year"] == month.year] if not by_year.empty else by_year
    n = int(rows.iloc[0]["department_units"]) if not rows.empty else None
    previous_month = shift_month(month, -1)
    return Card(
        "claim_rate",
        rate(by_year, month.year),
        rate(by_year_previous_month, previous_month.year),
        rate(by_year, month.year - 1),
        is_rate=True,
        n=n,
    )


def index_card(by_round: pd.DataFrame) -> Card:
    """Latest round's index; both comparisons are against the previous round of the same type."""
    if by_round.empty:
        return Card("civilization_index", None)
    latest = by_round.iloc[-1]
    same_type = by_round[by_round["round_type"] == latest["round_type"]]
    previous = same_type.iloc[-2]["civilization_index"] if len(same_type) > 1 else None
    return Card(
        "civilization_index",
        float(latest["civilization_index"]),
        float(previous) if previous is not None else None,
        None,
        is_rate=True,
        label=str(latest["round_name"]),
    )
