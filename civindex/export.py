"""Data exports that open cleanly in Excel and WPS, with formula injection neutralised.

A cell that begins with = + - @ (or a tab/carriage return) would be run as a formula by a
spreadsheet; every export prefixes such text with an apostrophe-like quote so it stays text.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_BAD = re.compile(r"[\[\]\:\*\?\/\\]")


def neutralise_text(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of the frame with text cells (and headers) that look like formulas made inert."""
    result = frame.copy()
    result.columns = [neutralise_text(str(c)) for c in result.columns]
    for column in result.columns:
        series = result[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            result[column] = series.map(neutralise_text)
    return result


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel opens Chinese text correctly."""
    return neutralise(frame).to_csv(index=False).encode("utf-8-sig")


def sheet_name(title: str, taken: set[str]) -> str:
    base = SHEET_NAME_BAD.sub("_", title).strip("'") or "Sheet"
    base = base[:28]
    name, counter = base, 2
    while name.lower() in taken:
        name = f"{base[:25]}_{counter}"
        counter += 1
    taken.add(name.lower())
    return name


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per (title, frame); text written as strings, never as formulas."""
    buffer = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
    ) as writer:
        for title, frame in sheets.items():
            clean = neutralise(frame)
            for column in clean.columns:
                if isinstance(clean[column].dtype, pd.DatetimeTZDtype):
                    clean[column] = clean[column].dt.tz_localize(None)
            clean.to_excel(writer, sheet_name=sheet_name(title, taken), index=False)
    return buffer.getvalue()
