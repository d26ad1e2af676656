"""Write chart specs into PowerPoint as native, editable charts (python-pptx).

Line, column, bar and their stacked forms become real charts whose data opens in PowerPoint's
or WPS's chart editor; a target is one more series; a heat map becomes a coloured native table.
Every text run sets an East Asian typeface so Chinese renders the same in PowerPoint and WPS.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import (
    XL_CHART_TYPE,
    XL_LABEL_POSITION,
    XL_LEGEND_POSITION,
    XL_MARKER_STYLE,
    XL_TICK_LABEL_POSITION,
)
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.text import PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from civindex.charts.spec import ChartSpec, format_number

FONT_LATIN = "Microsoft YaHei"
FONT_EAST_ASIAN = "Microsoft YaHei"
PALETTE = ("C8102E", "1F4E79", "E8A33D", "3A8D5C", "7A5195", "4F9DD9", "9C6644", "808080")
TARGET_COLOUR = "D62728"
SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
EXCEL_FORMATS = {
    "int": "#,##0",
    "float1": "#,##0.0",
    "float2": "#,##0.00",
    "percent0": "0%",
    "percent1": "0.0%",
}
CHART_TYPES = {
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "bar": XL_CHART_TYPE.BAR_CLUSTERED,
    "stacked_column": XL_CHART_TYPE.COLUMN_STACKED,
    "stacked_bar": XL_CHART_TYPE.BAR_STACKED,
    "scatter": XL_CHART_TYPE.XY_SCATTER,
}


def _east_asian(run_properties, typeface: str = FONT_EAST_ASIAN) -> None:
    """Set <a:latin> and <a:ea> on an <a:rPr>/<a:defRPr> element."""
    for tag in ("a:latin", "a:ea"):
        element = run_properties.find(qn(tag))
        if element is None:
            element = etree.SubElement(run_properties, qn(tag))
        element.set("typeface", typeface if tag == "a:ea" else FONT_LATIN)


def style_text_frame(frame, size: int, bold: bool = False, colour: str = "222222") -> None:
    for paragraph in frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.color.rgb = RGBColor.from_string(colour)
            _east_asian(run._r.get_or_add_rPr())


def add_text(slide, text: str, left, top, width, height, size: int, **style):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    lines = text.split("\n")
    frame.text = lines[0]
    for line in lines[1:]:
        frame.add_paragraph().text = line
    if style.pop("align", None) == "center":
        for paragraph in frame.paragraphs:
            paragraph.alignment = PP_ALIGN.CENTER
    style_text_frame(frame, size, **style)
    return box


def _pivot(spec: ChartSpec) -> tuple[list[str], dict[str, list[float | None]]]:
    """Categories in data order and one value list per series, None where a cell is missing."""
    data = spec.data
    categories = list(dict.fromkeys(_category_labels(data[spec.x])))
    labels = _category_labels(data[spec.x])
    series: dict[str, list[float | None]] = {}
    names = spec.series_names()
    for name in names:
        rows = data if spec.series is None else data[data[spec.series].astype(str) == name]
        row_labels = labels.loc[rows.index]
        by_category = dict(zip(row_labels, rows[spec.y], strict=True))
        series[name] = [_number(by_category.get(c)) for c in categories]
    return categories, series


def _category_labels(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.strftime("%Y-%m")
    return column.map(lambda v: v.strftime("%Y-%m") if hasattr(v, "strftime") else str(v))


def _number(value) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Frame:
    left: Emu
    top: Emu
    width: Emu
    height: Emu


def add_chart(slide, spec: ChartSpec, frame: Frame):
    """Draw one spec into a slide region as a native chart (or a native table for heat maps)."""
    if spec.kind == "heatmap":
        return _add_heatmap(slide, spec, frame)
    if spec.kind == "scatter":
        return _add_scatter(slide, spec, frame)
    categories, series = _pivot(spec)
    chart_data = CategoryChartData(number_format=EXCEL_FORMATS[spec.number_format])
    chart_data.categories = categories
    for name, values in series.items():
        chart_data.add_series(name, values)
    if spec.target is not None:
        chart_data.add_series(spec.target.label, [spec.target.value] * len(categories))
    graphic = slide.shapes.add_chart(
        CHART_TYPES[spec.kind], frame.left, frame.top, frame.width, frame.height, chart_data
    )
    chart = graphic.chart
    _style_chart(chart, spec, len(series))
    return graphic


def _style_chart(chart, spec: ChartSpec, data_series: int) -> None:
    chart.has_title = False
    chart.font.size = Pt(12)
    _east_asian(chart._chartSpace.get_or_add_txPr().find(".//" + qn("a:defRPr")))
    chart.has_legend = data_series > 1 or spec.target is not None
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
    value_axis = chart.value_axis
    value_axis.tick_labels.number_format = EXCEL_FORMATS[spec.number_format]
    value_axis.tick_labels.number_format_is_linked = False
    value_axis.has_major_gridlines = True
    value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xDD, 0xDD, 0xDD)
    if spec.y_unit or spec.label(spec.y):
        value_axis.has_title = True
        value_axis.axis_title.text_frame.text = _axis_title(spec.label(spec.y), spec.y_unit)
        style_text_frame(value_axis.axis_title.text_frame, 12)
    plot = chart.plots[0]
    if spec.kind in ("column", "bar", "stacked_column", "stacked_bar"):
        plot.gap_width = 60
    if spec.kind in ("stacked_column", "stacked_bar"):
        plot.overlap = 100
    for index, series in enumerate(plot.series):
        is_target = spec.target is not None and index == len(plot.series) - 1
        colour = TARGET_COLOUR if is_target else PALETTE[index % len(PALETTE)]
        if spec.kind == "line":
            series.format.line.color.rgb = RGBColor.from_string(colour)
            series.format.line.width = Pt(1.75 if is_target else 2.5)
            series.smooth = False
            if is_target:
                series.format.line.dash_style = MSO_LINE_DASH_STYLE.DASH
                series.marker.style = XL_MARKER_STYLE.NONE
        else:
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = RGBColor.from_string(colour)
    if spec.data_labels:
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format = EXCEL_FORMATS[spec.number_format]
        labels.number_format_is_linked = False
        labels.font.size = Pt(10)
        if spec.kind in ("column", "bar"):
            labels.position = XL_LABEL_POSITION.OUTSIDE_END
        if spec.target is not None:
            target_labels = plot.series[-1].data_labels
            target_labels.show_value = False
            target_labels.show_series_name = False
    if spec.kind in ("bar", "stacked_bar"):
        # PowerPoint draws bar categories bottom-up; keep the spec's top-down order.
        chart.category_axis.reverse_order = True
        chart.value_axis.tick_label_position = XL_TICK_LABEL_POSITION.HIGH


def _axis_title(label: str, unit: str) -> str:
    return f"{label}({unit})" if unit else label


def _add_scatter(slide, spec: ChartSpec, frame: Frame):
    chart_data = XyChartData()
    names = spec.series_names()
    for name in names:
        rows = spec.data if spec.series is None else spec.data[spec.data[spec.series] == name]
        series = chart_data.add_series(name)
        for x, y in zip(rows[spec.x], rows[spec.y], strict=True):
            if _number(x) is not None and _number(y) is not None:
                series.add_data_point(float(x), float(y))
    graphic = slide.shapes.add_chart(
        XL_CHART_TYPE.XY_SCATTER, frame.left, frame.top, frame.width, frame.height, chart_data
    )
    graphic.chart.has_legend = len(names) > 1
    return graphic


def _heat_colour(value: float | None, low: float, high: float) -> RGBColor:
    if value is None or high <= low:
        return RGBColor(0xF2, 0xF2, 0xF2)
    share = (value - low) / (high - low)
    start, end = (0xFD, 0xE7, 0xE9), (0xC8, 0x10, 0x2E)
    return RGBColor(*(round(a + (b - a) * share) for a, b in zip(start, end, strict=True)))


def _add_heatmap(slide, spec: ChartSpec, frame: Frame):
    value_column = spec.value or spec.y
    data = spec.data
    columns = list(dict.fromkeys(_category_labels(data[spec.x])))
    rows = list(dict.fromkeys(data[spec.y].astype(str)))
    cells = {
        (str(r), c): _number(v)
        for r, c, v in zip(
            data[spec.y].astype(str),
            _category_labels(data[spec.x]),
            data[value_column],
            strict=True,
        )
    }
    values = [v for v in cells.values() if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    shape = slide.shapes.add_table(
        len(rows) + 1, len(columns) + 1, frame.left, frame.top, frame.width, frame.height
    )
    table = shape.table
    table.cell(0, 0).text = spec.label(spec.y)
    for j, column in enumerate(columns, start=1):
        table.cell(0, j).text = column
    for i, row in enumerate(rows, start=1):
        table.cell(i, 0).text = row
        for j, column in enumerate(columns, start=1):
            value = cells.get((row, column))
            cell = table.cell(i, j)
            cell.text = format_number(value, spec.number_format)
            cell.fill.solid()
            cell.fill.fore_color.rgb = _heat_colour(value, low, high)
    size = 9 if len(columns) > 8 else 11
    for row_cells in table.rows:
        for cell in row_cells.cells:
            style_text_frame(cell.text_frame, size)
    return shape


def new_presentation() -> Presentation:
    presentation = Presentation()
    presentation.slide_width = SLIDE_WIDTH
    presentation.slide_height = SLIDE_HEIGHT
    return presentation


def add_chart_slide(presentation, spec: ChartSpec):
    """One slide: title, subtitle, the native chart, and the footnote under it."""
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    margin = Inches(0.5)
    width = SLIDE_WIDTH - 2 * margin
    add_text(slide, spec.title, margin, Inches(0.3), width, Inches(0.6), 26, bold=True)
    if spec.subtitle:
        add_text(slide, spec.subtitle, margin, Inches(0.9), width, Inches(0.4), 14, colour="555555")
    add_chart(slide, spec, Frame(margin, Inches(1.4), width, Inches(5.3)))
    if spec.footnote:
        add_text(
            slide, spec.footnote, margin, Inches(6.85), width, Inches(0.5), 10, colour="777777"
        )
    return slide


def to_bytes(presentation) -> bytes:
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()
