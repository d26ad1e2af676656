"""Ranks and what moved them: the rank-change label (↑2) and the indicator that drove a
district's index change between two rounds of the same type."""

from __future__ import annotations

import math

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
    # Plain Python: a round's breakdown is a few hundred rows, where pandas' dropna, groupby
    # and sort cost milliseconds. Largest pull first, the lower indicator code on a tie.
    keys = zip(breakdown["round_name"].tolist(), breakdown["district_code"].tolist(), strict=True)
    contributions: dict[tuple, list[tuple]] = {}
    for key, code, points in zip(
        keys,
        breakdown["indicator_code"].tolist(),
        breakdown["index_contribution"].tolist(),
        strict=True,
    ):
        if pd.notna(points):
            contributions.setdefault(key, []).append((code, points))
    keys = sorted(contributions)
    picked = []
    for key in keys:
        total = math.fsum(points for _code, points in contributions[key])
        sign = 1 if round(total, 9) >= 0 else -1  # float noise in a zero change is no fall
        code, points = min(contributions[key], key=lambda c: (-sign * c[1], c[0]))
        picked.append((code, points, total))
    dtypes = breakdown.dtypes
    return pd.DataFrame(
        {
            "round_name": pd.Series([k[0] for k in keys], dtype=dtypes["round_name"]),
            "district_code": pd.Series([k[1] for k in keys], dtype=dtypes["district_code"]),
            "driver_code": pd.Series([p[0] for p in picked], dtype=dtypes["indicator_code"]),
            "driver_points": pd.Series([p[1] for p in picked], dtype=dtypes["index_contribution"]),
            "index_change": pd.Series([p[2] for p in picked], dtype="float64"),
        }
    )
