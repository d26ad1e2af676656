"""Reference lists (districts, units, categories, indicators) as DataFrames, and display names."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from civindex import config
from civindex.schema import BOOLEAN_REFERENCE_COLUMNS, REFERENCE_LISTS


@cache
def _load(path: Path, mtime_ns: int) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    for column in frame.columns:
        if column in BOOLEAN_REFERENCE_COLUMNS:
            frame[column] = frame[column].str.lower().eq("true")
        elif column in ("sort_order", "max_points"):
            frame[column] = pd.to_numeric(frame[column])
    return frame


def load(kind: str, root: Path | None = None) -> pd.DataFrame:
    if kind not in REFERENCE_LISTS:
        raise KeyError(f"unknown reference list {kind!r}")
    path = config.reference_dir(root) / f"{kind}.csv"
    return _load(path, path.stat().st_mtime_ns)


def names(kind: str, lang: str = "zh", root: Path | None = None) -> dict[str, str]:
    """code -> display name: the short Chinese name, or the English name for `lang='en'`."""
    if kind not in REFERENCE_LISTS:
        raise KeyError(f"unknown reference list {kind!r}")
    path = config.reference_dir(root) / f"{kind}.csv"
    return dict(_names(path, path.stat().st_mtime_ns, kind, lang))


@cache
def _names(path: Path, mtime_ns: int, kind: str, lang: str) -> dict[str, str]:
    """Made once per version of the file: every chart and filter of a page asks for them."""
    frame = _load(path, mtime_ns)
    code, (full, *rest) = REFERENCE_LISTS[kind]
    english = rest[-1]
    short = rest[0] if len(rest) == 2 else full
    column = english if lang == "en" else short
    return dict(zip(frame[code], frame[column], strict=True))


def full_names(kind: str, root: Path | None = None) -> dict[str, str]:
    frame = load(kind, root)
    code, (full, *_rest) = REFERENCE_LISTS[kind]
    return dict(zip(frame[code], frame[full], strict=True))
