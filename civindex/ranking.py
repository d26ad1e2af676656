"""Ranks and what moved them: the rank-change label (↑2) and the indicator that drove a
district's index change between two rounds of the same type."""

from __future__ import annotations

import pandas as pd


def rank_change_label(change) -> str:
    """'↑2' moved up two places, '↓1' down one, '=' unchanged, '—' nothing to compare with."""
    if change is None or pd.isna(change):
        return "—"
    change = int(change)
    if change > 0:
        return f"↑{change}"
    if change < 0:
        return f"↓{-change}"
    return "="


def drivers(breakdown: pd.DataFrame) -> pd.DataFrame:
    """One row per round × district: the indicator whose contribution moved the index most in
    the direction it moved (`index_indicator_breakdown` rows in, contributions in points)."""
    columns = ["round_name", "district_code", "driver_code", "driver_points", "index_change"]
    rows = breakdown.dropna(subset=["index_contribution"])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(
        index_change=rows.groupby(["round_name", "district_code"])["index_contribution"].transform(
            "sum"
        )
    )
    sign = (
        rows["index_change"].where(rows["index_change"] != 0, 1).map(lambda v: 1 if v > 0 else -1)
    )
    rows = rows.assign(pull=rows["index_contribution"] * sign)
    top = rows.sort_values(["pull", "indicator_code"], ascending=[False, True]).drop_duplicates(
        ["round_name", "district_code"]
    )
    top = top.rename(
        columns={"indicator_code": "driver_code", "index_contribution": "driver_points"}
    )
    return top[columns].sort_values(["round_name", "district_code"]).reset_index(drop=True)
