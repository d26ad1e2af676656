"""The Plotly renderer: a `ChartSpec` drawn through the one house template.

Every figure carries its title, a subtitle (the active filters), axis titles with units, the
target as a dashed line series, and a footnote inside the figure, so a screenshot or a PNG
download explains itself.

Orientation: `x` always names the category (or time) column and `y` the measured value. `bar`
and `stacked_bar` draw horizontal bars (categories down the left, which suits long unit names);
`column`, `stacked_column`, `line` and `scatter` draw the category along the bottom. A heatmap
puts `x` along the bottom, `y` down the left and colours cells by `value`.
"""

from __future__ import annotations

import functools
import html
import math
import re
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from civindex.charts.spec import ChartSpec, NumberFormat, format_number
from civindex.i18n import t
from civindex.kpi import missing
from civindex.schema import SMALL_SAMPLE

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
)
# Readable on a projected slide: nothing below 13 px at the default 1× size.
TITLE_SIZE = 22
SUBTITLE_SIZE = 14
BODY_SIZE = 14
FOOTNOTE_SIZE = 12
INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#e4e7eb"
TARGET_COLOR = "#c0392b"
PALETTE = (
    "#1f5fa8",  # civic blue
    "#e07b24",
    "#2e9e6b",
    "#c23b4a",
    "#7a5ab8",
    "#8c6d46",
    "#d45fa6",
    "#5c6b73",
    "#b5a21f",
    "#1fa5b5",
    "#9fbbe0",
    "#f2b279",
)
HEATMAP_SCALE = [[0.0, "#f3f7fc"], [0.5, "#7fa8d6"], [1.0, "#173f73"]]
TEMPLATE_NAME = "civindex"
MONTH_LABEL = re.compile(r"^\d{4}-\d{2}$")
CJK = re.compile("[\u4e00-\u9fff]")
TOP_BASE = 76  # title + subtitle band, px
LEGEND_ROW = 26
FOOTNOTE_LINE = 17
EDGE = 14  # px between the figure's left edge and the title, legend and footnote
WIDE_LEGEND = 6  # more series than this: legend on the right instead of the top
FOOTNOTE_WIDTH = 640  # px of footnote text per line before it breaks at a separator
WRAP_WIDTH = 230  # px of a category name before it wraps
HEATMAP_LABEL_WIDTH = 260  # px of a heat-map row name before it is shortened
NARROW = BODY_SIZE * 0.6  # px of a Latin glyph at the body size

TICK_FORMATS: dict[NumberFormat, str] = {
    "int": ",.0f",
    "float1": ",.1~f",
    "float2": ",.2~f",
    "percent0": ".0%",
    "percent1": ".1~%",
}
HOVER_FORMATS: dict[NumberFormat, str] = {
    "int": ",.0f",
    "float1": ",.1f",
    "float2": ",.2f",
    "percent0": ".1%",
    "percent1": ".1%",
}


def house_template() -> go.layout.Template:
    template = go.layout.Template()
    template.layout = go.Layout(
        font=dict(family=FONT_FAMILY, size=BODY_SIZE, color=INK),
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=BODY_SIZE)),
        xaxis=dict(
            showgrid=False,
            linecolor="#9aa5b1",
            ticks="outside",
            tickcolor="#9aa5b1",
            title=dict(font=dict(size=BODY_SIZE, color=MUTED)),
            automargin=False,
        ),
        yaxis=dict(
            gridcolor=GRID,
            zerolinecolor="#9aa5b1",
            title=dict(font=dict(size=BODY_SIZE, color=MUTED)),
            automargin=True,
        ),
        legend=dict(font=dict(size=BODY_SIZE), bgcolor="rgba(255,255,255,0)"),
        separators=".,",
    )
    return template


pio.templates[TEMPLATE_NAME] = house_template()
TEMPLATE_JSON = pio.templates[TEMPLATE_NAME].to_plotly_json()


def _is_percent(spec: ChartSpec) -> bool:
    return spec.number_format.startswith("percent")


def _axis_title(label: str, unit: str) -> str:
    if not unit:
        return label
    return f"{label}({unit})" if _is_cjk(label) else f"{label} ({unit})"


def _is_cjk(text: str) -> bool:
    return CJK.search(text) is not None


def _text(value, n, spec: ChartSpec) -> str:
    text = format_number(value, spec.number_format)
    if n is not None and not pd.isna(n) and spec.kind not in ("line", "scatter"):
        text += f" n={int(n):,}"
        if int(n) < SMALL_SAMPLE:
            text += " ⚠"
    return text


def _sorted(spec: ChartSpec) -> pd.DataFrame:
    data = spec.data
    if spec.sort == "none" or spec.kind in ("line", "heatmap", "scatter") or data.empty:
        return data
    ascending = spec.sort == "ascending"
    if spec.series is None:
        return data.sort_values(spec.y, ascending=ascending, kind="stable")
    order = data.groupby(spec.x, sort=False)[spec.y].sum().sort_values(ascending=ascending)
    rank = {category: i for i, category in enumerate(order.index)}
    return data.sort_values(spec.x, key=lambda s: s.map(rank), kind="stable")


class _Columns:
    """The chart's rows, each column looked up and converted once.

    In pandas 3 a column lookup costs ~10 µs and a conversion as much again; a figure reads the
    same few columns a dozen times, which on these few rows was a good part of its cost. The
    lists and arrays handed out are shared: not to be changed."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data
        self._series: dict[str, pd.Series] = {}
        self._values: dict[str, list] = {}
        self._floats: dict[str, np.ndarray] = {}

    def __contains__(self, column: str | None) -> bool:
        return bool(column) and column in self.data

    def series(self, column: str) -> pd.Series:
        if column not in self._series:
            self._series[column] = self.data[column]
        return self._series[column]

    def values(self, column: str | None) -> list:
        """As `Series.tolist()`; None for every row where the spec names no such column."""
        if column not in self:
            return [None] * len(self.data)
        if column not in self._values:
            self._values[column] = self.series(column).tolist()
        return self._values[column]

    def floats(self, column: str) -> np.ndarray:
        """As `Series.astype(float)`, as numpy: pandas' per-call overhead would be most of the
        cost of the arithmetic on these few rows."""
        if column not in self._floats:
            self._floats[column] = self.series(column).to_numpy(dtype=float, na_value=np.nan)
        return self._floats[column]


def _groups(spec: ChartSpec, columns: _Columns) -> list[tuple[str, list[int]]]:
    """One (name, row positions) per trace, named and ordered as `groupby(series, sort=False)`
    would (missing names dropped). Factorising once costs a tenth of iterating a groupby."""
    if spec.series is None:
        return [(spec.label(spec.y), list(range(len(columns.data))))]
    codes, names = pd.factorize(columns.series(spec.series), sort=False)
    positions: list[list[int]] = [[] for _ in range(len(names))]
    for row, code in enumerate(codes.tolist()):
        if code >= 0:
            positions[code].append(row)
    groups = [(str(name), rows) for name, rows in zip(names, positions, strict=True)]
    if spec.kind == "line":
        # The legend reads top-down in the order the lines end, highest first.
        values = columns.values(spec.y)
        groups.sort(key=lambda group: -_last(_pick(values, group[1])))
    return groups


def _pick(values: list, rows: list[int]) -> list:
    return [values[row] for row in rows]


def _last(values: list) -> float:
    for value in reversed(values):
        if not pd.isna(value):
            return float(value)
    return float("-inf")


def _hover(spec: ChartSpec, horizontal: bool) -> str:
    category, value = ("y", "x") if horizontal else ("x", "y")
    lines = [
        f"%{{{category}}}",
        f"{spec.label(spec.y)}: %{{{value}:{HOVER_FORMATS[spec.number_format]}}}",
    ]
    if spec.n:
        lines.append(f"{spec.label(spec.n)}: %{{customdata[1]:,.0f}}")
    if spec.error_low and spec.error_high:
        fmt = HOVER_FORMATS[spec.number_format]
        lines.append(f"{t('chart.interval')}: %{{customdata[2]:{fmt}}}–%{{customdata[3]:{fmt}}}")
    return "<br>".join(lines) + "<extra>%{fullData.name}</extra>"


def _customdata(spec: ChartSpec, columns: _Columns) -> list[list]:
    """One row per data row: drill key, n, interval low and high (None where not charted)."""
    names = [
        spec.drill_key or spec.drill,
        spec.n,
        spec.error_low if spec.error_high else None,
        spec.error_high if spec.error_low else None,
    ]
    return [list(row) for row in zip(*(columns.values(c) for c in names), strict=True)]


def _whiskers(spec: ChartSpec, columns: _Columns) -> tuple[list, list] | None:
    """Each row's whisker above and below the value: never negative, NaN where a bound or the
    value is missing (as `clip(lower=0)` leaves it)."""
    if not (spec.error_low and spec.error_high):
        return None
    value = columns.floats(spec.y)
    above = columns.floats(spec.error_high) - value
    below = value - columns.floats(spec.error_low)
    return np.where(above < 0, 0.0, above).tolist(), np.where(below < 0, 0.0, below).tolist()


def _error(whiskers: tuple[list, list] | None, rows: list[int]) -> dict | None:
    if whiskers is None:
        return None
    above, below = whiskers
    return dict(
        type="data",
        symmetric=False,
        array=_pick(above, rows),
        arrayminus=_pick(below, rows),
        color="#52606d",
        thickness=1.2,
        width=4,
    )


def _bar_traces(spec: ChartSpec, columns: _Columns, horizontal: bool) -> list[dict]:
    traces = []
    # whole columns converted once, then picked per trace
    all_categories = columns.series(spec.x).astype(str).tolist()
    all_values, all_n = columns.values(spec.y), columns.values(spec.n)
    all_customdata, whiskers = _customdata(spec, columns), _whiskers(spec, columns)
    for index, (name, rows) in enumerate(_groups(spec, columns)):
        categories, values = _pick(all_categories, rows), _pick(all_values, rows)
        n_values = _pick(all_n, rows)
        error = _error(whiskers, rows)
        opacity = [0.45 if n is not None and n < SMALL_SAMPLE else 1.0 for n in n_values]
        trace = dict(
            type="bar",
            name=name,
            x=values if horizontal else categories,
            y=categories if horizontal else values,
            orientation="h" if horizontal else "v",
            marker=dict(color=PALETTE[index % len(PALETTE)], opacity=opacity),
            customdata=_pick(all_customdata, rows),
            hovertemplate=_hover(spec, horizontal),
            cliponaxis=False,
        )
        if error is not None:
            trace["error_x" if horizontal else "error_y"] = error
        texts = [_text(v, n, spec) for v, n in zip(values, n_values, strict=True)]
        if spec.data_labels and spec.series is None:
            # Labels as their own text trace: past the interval's whisker, where neither hides
            # the other, and off the bar, whose `text` would stop a click from selecting it.
            traces.append(trace)
            traces.append(_end_labels(spec, columns, categories, texts, horizontal))
            continue
        if spec.data_labels:
            stacked = spec.kind.startswith("stacked")
            trace.update(
                text=texts,
                textposition="inside" if stacked else "outside",
                insidetextanchor="middle",
                textfont=dict(size=BODY_SIZE - 1),
            )
        traces.append(trace)
    return traces


def _end_labels(
    spec: ChartSpec, columns: _Columns, categories: list[str], texts: list[str], horizontal: bool
) -> dict:
    """The labels of a single series' bars, at the end of each bar or of its whisker."""
    values = columns.floats(spec.y)
    ends = values
    if spec.error_low and spec.error_high:
        high = columns.floats(spec.error_high)
        ends = np.where(np.isnan(high), values, high)
    negative = (values < 0).tolist()
    if horizontal:
        position = ["middle left" if below else "middle right" for below in negative]
        texts = [
            f"{text} " if below else f" {text}" for text, below in zip(texts, negative, strict=True)
        ]
    else:
        position = ["bottom center" if below else "top center" for below in negative]
    return dict(
        type="scatter",
        x=ends.tolist() if horizontal else categories,
        y=categories if horizontal else ends.tolist(),
        mode="text",
        text=texts,
        textposition=position,
        textfont=dict(size=BODY_SIZE - 1, color=INK),
        showlegend=False,
        hoverinfo="skip",
        cliponaxis=False,
        name="labels",
    )


def _line_traces(spec: ChartSpec, columns: _Columns) -> list[dict]:
    traces = []
    mode = "markers" if spec.kind == "scatter" else "lines+markers"
    all_x, all_values = columns.values(spec.x), columns.values(spec.y)
    all_n = columns.values(spec.n)
    all_customdata, whiskers = _customdata(spec, columns), _whiskers(spec, columns)
    for index, (name, rows) in enumerate(_groups(spec, columns)):
        values, n_values = _pick(all_values, rows), _pick(all_n, rows)
        trace = dict(
            type="scatter",
            name=name,
            x=_pick(all_x, rows),
            y=values,
            mode=mode,
            line=dict(width=2.5, color=PALETTE[index % len(PALETTE)]),
            marker=dict(size=7 if spec.kind == "line" else 10),
            customdata=_pick(all_customdata, rows),
            hovertemplate=_hover(spec, False),
        )
        error = _error(whiskers, rows)
        if error is not None:
            trace["error_y"] = error
        if spec.data_labels:
            # On a dense line only the last point is labelled; the others are in the hover.
            labels = [""] * len(values)
            if values:
                labels[-1] = _text(values[-1], n_values[-1], spec)
            if len(values) <= 13:
                labels = [_text(v, n, spec) for v, n in zip(values, n_values, strict=True)]
            trace.update(
                mode=mode + "+text",
                text=labels,
                textposition="top center",
                textfont=dict(size=BODY_SIZE - 2, color=MUTED),
            )
        traces.append(trace)
    return traces


def _target_trace(spec: ChartSpec, columns: _Columns, horizontal: bool) -> dict | None:
    if spec.target is None or columns.data.empty:
        return None
    categories = list(dict.fromkeys(columns.values(spec.x)))
    if not horizontal:
        categories = [str(c) for c in categories] if spec.kind != "line" else categories
    else:
        categories = [str(c) for c in categories]
    values = [spec.target.value] * len(categories)
    number_format = spec.number_format
    if _is_percent(spec) and round(spec.target.value * 100, 6).is_integer():
        number_format = "percent0"
    label = f"{spec.target.label} {format_number(spec.target.value, number_format)}"
    text = [""] * len(categories)
    if not horizontal:  # across horizontal bars the label would sit on a bar; the legend has it
        text[-1] = label
    return dict(
        type="scatter",
        name=label,
        x=values if horizontal else categories,
        y=categories if horizontal else values,
        mode="lines+text",
        line=dict(color=TARGET_COLOR, width=2, dash="dash"),
        text=text,
        textposition="middle left" if horizontal else "top left",
        textfont=dict(color=TARGET_COLOR, size=BODY_SIZE - 1),
        hoverinfo="skip",
        cliponaxis=False,
    )


def heatmap_grid(data: pd.DataFrame, x: str, y: str, value: str) -> tuple[list, list, np.ndarray]:
    """Rows (y, first seen first), columns (x, months in calendar order) and the cells: what
    pivot_table(aggfunc="sum") gives, where a pair with no row, or a row or column of no
    name, is empty and a missing value adds nothing. A plain loop: a heat map has a few
    hundred cells, and pandas' groupby, unstack and reindex cost ten times as much."""
    ys, xs, values = data[y].tolist(), data[x].tolist(), data[value].tolist()
    rows, columns = list(dict.fromkeys(ys)), list(dict.fromkeys(xs))
    if all(MONTH_LABEL.match(str(column)) for column in columns):
        columns.sort()
    row_at = {r: i for i, r in enumerate(rows) if not missing(r)}
    column_at = {c: j for j, c in enumerate(columns) if not missing(c)}
    cells = np.full((len(rows), len(columns)), np.nan)
    for row, column, cell in zip(ys, xs, values, strict=True):
        if missing(row) or missing(column):
            continue
        i, j = row_at[row], column_at[column]
        added = 0.0 if missing(cell) else float(cell)
        cells[i, j] = added if np.isnan(cells[i, j]) else cells[i, j] + added
    return rows, columns, cells


def _heatmap_trace(spec: ChartSpec, data: pd.DataFrame) -> dict:
    value = spec.value or spec.y
    rows, columns, cells = heatmap_grid(data, spec.x, spec.y, value)
    trace = dict(
        type="heatmap",
        z=cells,
        x=[str(c) for c in columns],
        y=[str(r) for r in rows],
        colorscale=HEATMAP_SCALE,
        xgap=1,
        ygap=1,
        colorbar=dict(
            title=dict(text=_axis_title(spec.label(value), ""), side="right"),
            tickformat=TICK_FORMATS[spec.number_format],
            thickness=14,
        ),
        hovertemplate=(
            f"%{{y}} · %{{x}}<br>{spec.label(value)}: "
            f"%{{z:{HOVER_FORMATS[spec.number_format]}}}<extra></extra>"
        ),
    )
    if spec.data_labels:
        trace.update(
            texttemplate=f"%{{z:{TICK_FORMATS[spec.number_format]}}}",
            textfont=dict(size=BODY_SIZE - 3),
        )
    return trace


def _footnote_lines(spec: ChartSpec, columns: _Columns) -> list[str]:
    lines = [line for line in spec.footnote.splitlines() if line.strip()]
    notes = []
    if spec.error_low and spec.error_high:
        notes.append(t("chart.interval_note"))
    if spec.n in columns and (columns.floats(spec.n) < SMALL_SAMPLE).any():
        notes.append(t("chart.small_sample_note", n=SMALL_SAMPLE))
    if notes:
        lines.append(t("chart.separator").join(notes))
    return [part for line in lines for part in _split_footnote(line)]


def _split_footnote(line: str) -> list[str]:
    """A footnote line too long for a half-width chart breaks at its ' · ' separators."""
    scale = FOOTNOTE_SIZE / BODY_SIZE
    parts, current = [], ""
    for piece in line.split(" · "):
        candidate = f"{current} · {piece}" if current else piece
        if current and _width(candidate) * scale > FOOTNOTE_WIDTH:
            parts.append(current)
            current = piece
        else:
            current = candidate
    return [*parts, current]


def _legend_rows(names: list[str], width: int = 1100) -> int:
    chars = sum(len(name) * (2 if _is_cjk(name) else 1) + 6 for name in names)
    return max(1, math.ceil(chars * 8 / width))


def to_figure(spec: ChartSpec) -> go.Figure:
    """Draw the spec as a Plotly figure in the house style (`figure_json` as a `go.Figure`)."""
    return go.Figure(figure_json(spec), _validate=False)


def figure_json(spec: ChartSpec) -> dict:
    """The spec drawn in the house style, as the JSON Plotly.js takes: {"data", "layout"}.

    Traces and layout are built as plain dicts, from checked parts: Plotly's validation would
    cost more than everything else here (~2.5 ms a figure), and each `add_trace` or
    `update_layout` on a live figure validates it again (~18 ms a figure that way).
    tests/test_charts.py builds every page's figures both ways and requires the same JSON.
    """
    data = _plain_text(spec, _month_labels(spec, _sorted(spec)))
    horizontal = spec.kind in ("bar", "stacked_bar")
    if horizontal:
        data = _wrapped(data, spec.x)
    columns = _Columns(data)
    if spec.kind == "heatmap":
        traces = [_heatmap_trace(spec, data)] if not data.empty else []
    elif spec.kind in ("line", "scatter"):
        traces = _line_traces(spec, columns)
    else:
        traces = _bar_traces(spec, columns, horizontal)
    target = _target_trace(spec, columns, horizontal)
    if target is not None:
        traces.append(target)

    names = [trace["name"] for trace in traces if trace.get("name")]
    show_legend = spec.kind != "heatmap" and (spec.series is not None or target is not None)
    legend_right = len(names) > WIDE_LEGEND
    legend_rows = 0 if (not show_legend or legend_right) else _legend_rows(names)
    footnote = _footnote_lines(spec, columns)
    has_x_title = bool(spec.label(spec.x if not horizontal else spec.y))
    top = TOP_BASE + (0 if not spec.subtitle else 4) + legend_rows * LEGEND_ROW
    rotate = spec.kind == "heatmap" or (
        spec.kind in ("column", "stacked_column") and _long_ticks(columns, spec.x)
    )
    tick_height = 8 + (_text_width(columns, spec.x) * 0.72 if rotate else 20)
    if spec.kind == "line" and spec.n and spec.series is None:
        tick_height += 18  # the n line under each month
    bottom = int(tick_height + (26 if has_x_title else 0) + len(footnote) * FOOTNOTE_LINE + 14)
    left = 88
    if horizontal:
        left = int(min(340, 50 + _text_width(columns, spec.x)))
    elif spec.kind == "heatmap" and not data.empty:
        left = int(50 + max(_width(_shorten(str(row))) for row in data[spec.y].unique()))
    height = spec.height
    if show_legend and legend_right:
        height = max(height, top + bottom + LEGEND_ROW * len(names))
    if horizontal and not data.empty:
        # every bar keeps room for its (possibly wrapped) name; _wrapped made them all text
        labels = columns.values(spec.x)
        lines = max(label.count("<br>") + 1 for label in labels)
        height = max(height, top + bottom + len(set(labels)) * (10 + 18 * lines))
    right = 36
    if show_legend and legend_right:
        right = 190
    elif spec.kind == "heatmap":
        right = 110
    elif horizontal and spec.data_labels:
        # labels outside the longest bar spill into the margin rather than off the figure
        right = int(24 + _label_width(spec, columns))

    value_axis = dict(
        title=dict(text=_axis_title(spec.label(spec.y), spec.y_unit)),
        tickformat=TICK_FORMATS[spec.number_format],
        rangemode="tozero" if spec.kind not in ("line", "scatter") else "normal",
    )
    if spec.value_range is not None:
        value_axis["range"] = list(spec.value_range)
    elif _is_percent(spec) and spec.kind in ("bar", "column"):
        value_axis["range"] = _percent_range(spec, columns)
    if value_axis.get("range") is None and horizontal and spec.data_labels and not data.empty:
        value_axis["range"] = _signed_range(columns.series(spec.y))
    elif value_axis.get("range") is None and spec.kind == "column" and spec.data_labels:
        column = spec.error_high if spec.error_high else spec.y
        highest = float(columns.series(column).max()) if len(data) else 0.0
        if highest > 0 and (columns.series(spec.y) >= 0).all():
            value_axis["range"] = [0, highest * 1.12]  # headroom for the labels above columns
    category_axis = dict(
        title=dict(text=_axis_title(spec.label(spec.x), spec.x_unit)),
        tickangle=-45 if rotate else None,
    )
    if spec.kind == "heatmap":
        rows = list(dict.fromkeys(data[spec.y].astype(str))) if spec.y in data else []
        xaxis = dict(
            title=dict(text=_axis_title(spec.label(spec.x), spec.x_unit)),
            tickangle=-45,
            type="category",
        )
        yaxis = dict(
            title=dict(text=_axis_title(spec.label(spec.y), spec.y_unit)),
            autorange="reversed",
            automargin=False,
            # one line per row: long names are shortened here and whole in the hover
            tickmode="array",
            tickvals=rows,
            ticktext=[_shorten(str(row)) for row in rows],
        )
    elif horizontal:
        xaxis = value_axis | dict(automargin=False)
        yaxis = category_axis | dict(autorange="reversed", type="category", automargin=False)
    else:
        xaxis, yaxis = dict(category_axis), value_axis | dict(automargin=False)
        if spec.kind == "line" and spec.n and spec.series is None and not data.empty:
            # One line of rates: each month's n under its tick, so no rate is shown without it.
            xaxis.update(
                tickmode="array",
                tickvals=columns.values(spec.x),
                ticktext=[
                    _tick(x, n)
                    for x, n in zip(columns.values(spec.x), columns.series(spec.n), strict=True)
                ],
                tickangle=0,
                tickfont=dict(size=BODY_SIZE - 2),
                hoverformat="%Y-%m",
            )
        elif spec.kind in ("line", "scatter") and _is_dates(data, spec.x):
            xaxis.update(tickformat="%Y-%m", hoverformat="%Y-%m-%d")
        else:
            xaxis.update(type="category")

    layout = dict(
        template=TEMPLATE_NAME,
        xaxis=xaxis,
        yaxis=yaxis,
        height=height,
        margin=dict(
            t=top,
            b=bottom,
            l=left,
            r=right,
        ),
        title=dict(
            text=f"<b>{spec.title}</b>",
            font=dict(size=TITLE_SIZE, color=INK),
            x=0,
            xref="container",
            xanchor="left",
            y=1,
            yref="container",
            yanchor="top",
            pad=dict(t=14, l=EDGE),
            subtitle=dict(text=spec.subtitle, font=dict(size=SUBTITLE_SIZE, color=MUTED)),
        ),
        showlegend=show_legend,
        barmode="stack" if spec.kind.startswith("stacked") else "group",
        bargap=0.25,
        hovermode="closest",
        clickmode="event+select" if spec.drill else "event",
    )
    if spec.kind.startswith("stacked"):
        layout["uniformtext"] = dict(minsize=10, mode="hide")
    if show_legend and legend_right:
        layout["legend"] = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top")
    elif show_legend:
        layout["legend"] = dict(
            orientation="h",
            xref="container",
            x=EDGE / 1200,
            xanchor="left",
            yref="container",
            y=1 - (TOP_BASE - 6) / height,
            traceorder="normal",
            yanchor="top",
            title=dict(text=""),
        )
    annotations = []
    if footnote:
        annotations.append(
            dict(
                text="<br>".join(footnote),
                xref="paper",
                yref="paper",
                x=0,
                y=0,
                xanchor="left",
                yanchor="bottom",
                yshift=-(bottom - 8),
                xshift=-(left - EDGE),
                showarrow=False,
                align="left",
                font=dict(size=FOOTNOTE_SIZE, color=MUTED),
                name="footnote",
            )
        )
    if data.empty:
        annotations.append(
            dict(
                text=t("chart.no_data"),
                xref="paper",
                yref="paper",
                x=0.5,
                y=0.5,
                showarrow=False,
                font=dict(size=BODY_SIZE + 2, color=MUTED),
            )
        )
    if annotations:
        layout["annotations"] = annotations
    layout["template"] = TEMPLATE_JSON
    return {"data": _pruned(traces), "layout": _pruned(layout)}


def _pruned(value):
    """Unset properties (None) left out, as validation leaves them out; None inside a data
    array is a gap and stays. Lists of values come out as `_Array`s."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if any(isinstance(v, dict) for v in value):
            return [_pruned(v) for v in value]
        return _Array(value)
    return value


class _Array(list):
    """A figure's array: numbers, text, timestamps and None, or rows of them (customdata, a
    colour scale).

    `go.Figure` deep-copies all it is given, element by element: a fifth of a figure's cost.
    Nothing in an array can change, so copying the list and its rows is as good. The figure
    keeps the copies, plain lists."""

    def __deepcopy__(self, memo) -> list:
        return [list(v) if isinstance(v, list) else v for v in self]


def _month_labels(spec: ChartSpec, data: pd.DataFrame) -> pd.DataFrame:
    """Months on a category axis read as 2026-03, not as timestamps."""
    if spec.kind in ("line", "scatter") or spec.x not in data:
        return data
    column = data[spec.x]
    # kind "M": datetime64 with or without a zone, and Arrow dates and timestamps
    if column.dtype.kind == "M" or (len(column) and isinstance(column.iloc[0], date)):
        data = data.copy()
        data[spec.x] = pd.to_datetime(column).dt.strftime("%Y-%m")
    return data


def _tick(x, n) -> str:
    label = f"{pd.Timestamp(x):%Y-%m}" if isinstance(x, date | pd.Timestamp) else str(x)
    flag = " ⚠" if n is not None and not pd.isna(n) and n < SMALL_SAMPLE else ""
    return f"{label}<br>n={int(n):,}{flag}" if n is not None and not pd.isna(n) else label


def _is_dates(data: pd.DataFrame, column: str) -> bool:
    if column not in data or data.empty:
        return False
    return pd.api.types.is_datetime64_any_dtype(data[column]) or isinstance(
        data[column].iloc[0], date
    )


def _long_ticks(columns: _Columns, column: str) -> bool:
    """Would the category labels crowd a half-width chart if written level?"""
    if columns.data.empty or column not in columns:
        return False
    labels = columns.series(column).astype(str).unique()
    return len(labels) * max(_width(label) for label in labels) > 900


@functools.lru_cache(maxsize=4096)
def _width(text: str) -> float:
    """Rough pixel width of a label at the body size (CJK glyphs are about twice as wide).

    Cached: the same unit, district and footnote texts are measured on every render. Summed
    glyph by glyph, so the float, and every margin rounded from it, stays the same."""
    return sum(BODY_SIZE if "\u4e00" <= ch <= "\u9fff" else NARROW for ch in text)


def clear_text_caches() -> None:
    """Forget the measured and wrapped labels (a cold start: the benchmark and tests)."""
    for cached in (_width, _shorten, _wrap):
        cached.cache_clear()


def _label_width(spec: ChartSpec, columns: _Columns) -> float:
    if columns.data.empty:
        return 0.0
    values, n_values = columns.values(spec.y), columns.values(spec.n)
    texts = [_text(v, n, spec) for v, n in zip(values, n_values, strict=True)]
    return max(_width(text) for text in texts) * (BODY_SIZE - 1) / BODY_SIZE


def _text_width(columns: _Columns, column: str) -> float:
    if columns.data.empty or column not in columns:
        return 0.0
    labels = columns.series(column).unique()
    return max(_width(line) for label in labels for line in str(label).split("<br>"))


@functools.lru_cache(maxsize=4096)
def _shorten(text: str, limit: float = HEATMAP_LABEL_WIDTH) -> str:
    if _width(text) <= limit:
        return text
    while text and _width(text + "…") > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def _plain_text(spec: ChartSpec, data: pd.DataFrame) -> pd.DataFrame:
    """Category and series names can come from uploads (window and round names). Plotly reads
    <b>, <a href>, <br> and entities in labels as markup: escaped, they show as typed."""
    columns = [c for c in dict.fromkeys((spec.x, spec.y, spec.series)) if c and c in data]
    columns = [c for c in columns if _has_markup(data[c])]
    if not columns:
        return data
    data = data.copy()
    for column in columns:
        data[column] = data[column].map(
            lambda v: html.escape(v, quote=False) if isinstance(v, str) else v
        )
    return data


def _has_markup(values: pd.Series) -> bool:
    """Does any text in the column hold a character html.escape changes (& < >)?

    A plain loop: pandas' regex `str.contains` costs ~0.15 ms a column, ten times as much."""
    if values.dtype.kind in "biufcmM":  # numbers and times hold no text
        return False
    return any(isinstance(v, str) and ("&" in v or "<" in v or ">" in v) for v in values.tolist())


def _wrapped(data: pd.DataFrame, column: str) -> pd.DataFrame:
    """Long category names (English unit names) on two or three lines, not cut off."""
    if data.empty or column not in data:
        return data
    labels = data[column].tolist()
    wrapped = [_wrap(str(label)) for label in labels]
    if all(isinstance(label, str) for label in labels) and wrapped == labels:
        return data  # short names, as text already: no copy of the frame needed
    data = data.copy()
    data[column] = wrapped
    return data


@functools.lru_cache(maxsize=4096)
def _wrap(text: str, limit: float = WRAP_WIDTH) -> str:
    if _width(text) <= limit:
        return text
    pieces = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines, line = [], ""
    for piece in pieces:
        candidate = f"{line}{joiner}{piece}" if line else piece
        if line and _width(candidate) > limit:
            lines.append(line)
            line = piece
        else:
            line = candidate
    lines.append(line)
    return "<br>".join(lines)


def _signed_range(values: pd.Series) -> list[float] | None:
    """Room left of the bars for the labels of negative values, clear of the category names."""
    low, high = float(values.min()), float(values.max())
    if low >= 0:
        return None
    span = max(high, 0.0) - low
    return [low - 0.3 * span, max(high, 0.0) + 0.05 * span]


def _percent_range(spec: ChartSpec, columns: _Columns) -> list[float] | None:
    """Rates near the target are unreadable from zero; start the axis below the lowest bound."""
    values = columns.floats(spec.y)
    if columns.data.empty or (values < 0).any() or (values > 1).any():
        return None  # changes, not shares: let the axis fit them
    lows = columns.series(spec.error_low if spec.error_low in columns else spec.y)
    lowest = min(float(lows.min()), spec.target.value if spec.target else 1.0)
    if lowest < 0.5:
        return None
    start = max(0.0, math.floor((lowest - 0.03) * 20) / 20)
    return [start, 1.0]
