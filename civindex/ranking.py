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
    change = rows.groupby(["round_name", "district_code"])["index_contribution"].transform("sum")
    # The pick in plain Python: a few hundred rows, where pandas' sort and drop_duplicates
    # cost ~5 ms. Largest pull first, the lower indicator code on a tie.
    best: dict[tuple, tuple] = {}
    for key, code, points, total in zip(
        zip(rows["round_name"].tolist(), rows["district_code"].tolist(), strict=True),
        rows["indicator_code"].tolist(),
        rows["index_contribution"].tolist(),
        change.tolist(),
        strict=True,
    ):
        pull = points if total >= 0 else -points
        held = best.get(key)
        if held is None or (-pull, code) < (-held[0], held[1]):
            best[key] = (pull, code, points, total)
    keys = sorted(best)
    picked = [best[key] for key in keys]
    return pd.DataFrame(
        {
            "round_name": pd.Series([k[0] for k in keys], dtype=rows["round_name"].dtype),
            "district_code": pd.Series([k[1] for k in keys], dtype=rows["district_code"].dtype),
            "driver_code": pd.Series([p[1] for p in picked], dtype=rows["indicator_code"].dtype),
            "driver_points": pd.Series(
                [p[2] for p in picked], dtype=rows["index_contribution"].dtype
            ),
            "index_change": pd.Series([p[3] for p in picked], dtype=change.dtype),
        }
    )
