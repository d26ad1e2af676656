"""KPI cards from monthly query results: the value of a month, its 环比 (previous month) and
同比 (same month a year earlier), and for rates the sample size and Wilson interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

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


def _first_rows(frame: pd.DataFrame, date_column: str = "period_month") -> dict[date, int]:
    """The position of each month's first row. A card reads three months of one frame, so the
    months are found once, and without `.dt.date` (a Python date of every row)."""
    if frame.empty:
        return {}
    column = frame[date_column]
    months = column.to_numpy() if column.dtype.kind == "M" else pd.to_datetime(column).to_numpy()
    first: dict[date, int] = {}
    for position, month in enumerate(months.astype("datetime64[D]").tolist()):
        first.setdefault(month, position)
    return first


def _cell(frame: pd.DataFrame, rows: dict[date, int], month: date, column: str):
    """`column` in the first row of `month` as a Python value, or None: one cell read, not a
    row (a row of a mixed frame is a Series of its own)."""
    position = rows.get(month)
    if position is None:
        return None
    value = frame[column].iat[position]
    return None if pd.isna(value) else value.item() if hasattr(value, "item") else value


def monthly_card(frame: pd.DataFrame, month: date, key: str, column: str) -> Card:
    rows = _first_rows(frame)
    return Card(
        key,
        _cell(frame, rows, month, column),
        _cell(frame, rows, shift_month(month, -1), column),
        _cell(frame, rows, shift_month(month, -12), column),
    )


def satisfaction_card(frame: pd.DataFrame, month: date) -> Card:
    rows = _first_rows(frame)
    n = _cell(frame, rows, month, "responses")
    return Card(
        "satisfaction_rate",
        _cell(frame, rows, month, "satisfaction_rate"),
        _cell(frame, rows, shift_month(month, -1), "satisfaction_rate"),
        _cell(frame, rows, shift_month(month, -12), "satisfaction_rate"),
        is_rate=True,
        n=int(n) if n is not None else None,
        low=_cell(frame, rows, month, "rate_low"),
        high=_cell(frame, rows, month, "rate_high"),
        target=SATISFACTION_TARGET,
    )


def claim_rate_card(by_year: pd.DataFrame, month: date, by_year_previous_month) -> Card:
    """Year-to-date claim rate; 环比 compares with the year to date one month earlier."""

    def first(frame: pd.DataFrame, year: int, column: str):
        years = frame["year"].tolist() if not frame.empty else []
        return frame[column].iat[years.index(year)] if year in years else None

    def rate(frame: pd.DataFrame, year: int):
        value = first(frame, year, "claim_rate")
        return None if value is None else float(value)

    n = first(by_year, month.year, "department_units")
    previous_month = shift_month(month, -1)
    return Card(
        "claim_rate",
        rate(by_year, month.year),
        rate(by_year_previous_month, previous_month.year),
        rate(by_year, month.year - 1),
        is_rate=True,
        n=int(n) if n is not None else None,
    )


def index_card(by_round: pd.DataFrame) -> Card:
    """Latest round's index; both comparisons are against the previous round of the same type."""
    if by_round.empty:
        return Card("civilization_index", None)
    types = by_round["round_type"].tolist()
    indexes = by_round["civilization_index"].tolist()
    same_type = [i for i, kind in enumerate(types) if kind == types[-1]]
    previous = indexes[same_type[-2]] if len(same_type) > 1 else None
    return Card(
        "civilization_index",
        float(indexes[-1]),
        float(previous) if previous is not None else None,
        None,
        is_rate=True,
        label=str(by_round["round_name"].iat[-1]),
    )
