"""Meeting decks: a title slide, a KPI slide and one native chart per slide, 16:9."""

from __future__ import annotations

from dataclasses import dataclass, field

from pptx.dml.color import RGBColor
from pptx.util import Inches

from civindex.charts import pptx as render
from civindex.charts.spec import ChartSpec


@dataclass(frozen=True)
class KpiRow:
    label: str
    value: str
    yoy: str = ""
    mom: str = ""
    note: str = ""


@dataclass
class Deck:
    title: str
    subtitle: str
    meta_lines: list[str]
    kpi_title: str = ""
    kpi_headers: tuple[str, str, str, str, str] = ("", "", "", "", "")
    kpis: list[KpiRow] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    demo_notice: str = ""


def _title_slide(presentation, deck: Deck) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    width = render.SLIDE_WIDTH - Inches(1.6)
    render.add_text(slide, deck.title, Inches(0.8), Inches(2.0), width, Inches(1.0), 40, bold=True)
    render.add_text(
        slide, deck.subtitle, Inches(0.8), Inches(3.1), width, Inches(0.6), 20, colour="444444"
    )
    render.add_text(
        slide,
        "\n".join(deck.meta_lines),
        Inches(0.8),
        Inches(4.0),
        width,
        Inches(2.0),
        14,
        colour="666666",
    )
    if deck.demo_notice:
        render.add_text(
            slide,
            deck.demo_notice,
            Inches(0.8),
            Inches(6.3),
            width,
            Inches(0.6),
            16,
            bold=True,
            colour="C8102E",
        )


def _kpi_slide(presentation, deck: Deck) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    margin = Inches(0.5)
    width = render.SLIDE_WIDTH - 2 * margin
    render.add_text(slide, deck.kpi_title, margin, Inches(0.3), width, Inches(0.6), 26, bold=True)
    render.add_text(
        slide, deck.subtitle, margin, Inches(0.9), width, Inches(0.4), 14, colour="555555"
    )
    rows = len(deck.kpis) + 1
    shape = slide.shapes.add_table(rows, 5, margin, Inches(1.5), width, Inches(0.5) * rows)
    table = shape.table
    for j, header in enumerate(deck.kpi_headers):
        table.cell(0, j).text = header
    for i, kpi in enumerate(deck.kpis, start=1):
        for j, text in enumerate((kpi.label, kpi.value, kpi.yoy, kpi.mom, kpi.note)):
            table.cell(i, j).text = text
    for index, row in enumerate(table.rows):
        for cell in row.cells:
            render.style_text_frame(cell.text_frame, 14, bold=index == 0)
            if index:
                cell.fill.solid()
                cell.fill.fore_color.rgb = RGBColor(0xFA, 0xFA, 0xFA)
    if deck.meta_lines:
        render.add_text(
            slide,
            deck.meta_lines[-1],
            margin,
            Inches(6.85),
            width,
            Inches(0.5),
            10,
            colour="777777",
        )


def build(deck: Deck) -> bytes:
    presentation = render.new_presentation()
    _title_slide(presentation, deck)
    if deck.kpis:
        _kpi_slide(presentation, deck)
    for spec in deck.charts:
        render.add_chart_slide(presentation, spec)
    return render.to_bytes(presentation)
