"""Renderer-neutral chart specs. A page builds a `ChartSpec` from a query result; the Plotly
renderer draws it on screen and the PowerPoint renderer writes it as a native chart, so both
show the same data, titles and footnote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["line", "bar", "column", "stacked_column", "stacked_bar", "heatmap", "scatter"]
NumberFormat = Literal["int", "float1", "float2", "percent0", "percent1"]


@dataclass(frozen=True)
class Target:
    """A reference line (e.g. the 95% satisfaction target), drawn as its own series."""

    value: float
    label: str


@dataclass(frozen=True)
class ChartSpec:
    """Everything needed to draw one chart, in any renderer.

    `data` is tidy: one row per mark. `x` and `y` name its columns; `series` (optional) splits
    it into one trace per distinct value (e.g. category, district). For a heatmap, `x`, `y` and
    `value` name the column, row and cell-value columns. `labels` maps column names to display
    labels (axis titles, legend title, hover). `drill` names the column whose value identifies a
    unit or district to open on click (`unit_code` or `district_code`), carried in `drill_key`.
    `n` names the sample-size column of a rate: shown with the value, and marks under 30 flagged.
    `value_range` fixes the value axis (e.g. 0–100 so two rankings compare at a glance).
    """

    key: str
    kind: Kind
    data: pd.DataFrame
    x: str
    y: str
    title: str
    subtitle: str = ""
    footnote: str = ""
    series: str | None = None
    value: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    x_unit: str = ""
    y_unit: str = ""
    number_format: NumberFormat = "int"
    target: Target | None = None
    data_labels: bool = False
    drill: str | None = None
    drill_key: str | None = None
    error_low: str | None = None
    error_high: str | None = None
    n: str | None = None
    value_range: tuple[float, float] | None = None
    sort: Literal["none", "ascending", "descending"] = "none"
    height: int = 420

    def label(self, column: str | None) -> str:
        if column is None:
            return ""
        return self.labels.get(column, column)

    def series_names(self) -> list[str]:
        if self.series is None:
            return [self.label(self.y)]
        return [str(v) for v in dict.fromkeys(self.data[self.series].tolist())]

    def file_stem(self) -> str:
        """A meaningful file name for downloads: chart key plus the filter subtitle."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.subtitle)
        return f"{self.key}_{safe}".strip("_")[:120]


def format_number(value: float | None, number_format: NumberFormat) -> str:
    if value is None or pd.isna(value):
        return "—"
    match number_format:
        case "int":
            return f"{value:,.0f}"
        case "float1":
            return f"{value:,.1f}"
        case "float2":
            return f"{value:,.2f}"
        case "percent0":
            return f"{value:.0%}"
        case "percent1":
            return f"{value:.1%}"
    raise ValueError(number_format)
