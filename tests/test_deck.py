"""Meeting decks: the PPTX holds native charts whose series equal what the page drew."""

import io
import subprocess
import sys

import pandas as pd
import pytest
from pptx import Presentation
from pptx.util import Emu

from civindex import deck as decks
from civindex.charts import pptx as render
from civindex.charts.spec import ChartSpec, Target
from civindex.cli_deck import page_deck
from civindex.config import REPO_ROOT as REPO
from civindex.db import Database


def _charts(presentation):
    for slide in presentation.slides:
        for shape in slide.shapes:
            if shape.has_chart:
                yield slide, shape.chart


def _texts(slide) -> list[str]:
    return [s.text_frame.text for s in slide.shapes if s.has_text_frame]


def test_spec_becomes_native_chart_with_target_series_and_east_asian_font():
    data = pd.DataFrame(
        {
            "month": ["2026-08", "2026-09", "2026-10"],
            "rate": [0.961, 0.948, 0.972],
        }
    )
    spec = ChartSpec(
        "trend",
        "line",
        data,
        "month",
        "rate",
        "窗口满意率趋势",
        subtitle="2026-08 至 2026-10",
        footnote="数据来源 · 快照 满意度 v3",
        labels={"rate": "满意率"},
        number_format="percent1",
        target=Target(0.95, "目标 95%"),
    )
    presentation = render.new_presentation()
    render.add_chart_slide(presentation, spec)
    reopened = Presentation(io.BytesIO(render.to_bytes(presentation)))
    assert reopened.slide_width == Emu(render.SLIDE_WIDTH)
    [(slide, chart)] = list(_charts(reopened))
    series = {s.name: list(s.values) for s in chart.plots[0].series}
    assert series == {"满意率": [0.961, 0.948, 0.972], "目标 95%": [0.95, 0.95, 0.95]}
    assert list(chart.plots[0].categories) == ["2026-08", "2026-09", "2026-10"]
    assert _texts(slide)[:2] == ["窗口满意率趋势", "2026-08 至 2026-10"]
    assert "快照 满意度 v3" in _texts(slide)[-1]
    xml = slide.shapes[0].text_frame._txBody.xml
    assert 'ea typeface="Microsoft YaHei"' in xml


def _expected_series(spec: ChartSpec) -> dict[str, list]:
    _categories, series = render._pivot(spec)
    return {
        name: [None if v is None else round(v, 6) for v in values]
        for name, values in series.items()
    }


def test_overview_deck_matches_the_page_and_the_queries(demo_store):
    deck = page_deck("overview", {"from": ["2025-11"], "to": ["2026-10"]})
    assert deck.charts, "the overview draws charts"
    assert deck.kpis and deck.demo_notice
    presentation = Presentation(io.BytesIO(decks.build(deck)))
    assert len(presentation.slides) == 2 + len(deck.charts)
    native = [c for _, c in _charts(presentation)]
    drawn = [s for s in deck.charts if s.kind != "heatmap"]
    assert len(native) == len(drawn)
    for spec, chart in zip(drawn, native, strict=True):
        got = {
            s.name: [None if v is None else round(v, 6) for v in s.values]
            for s in chart.plots[0].series
        }
        expected = _expected_series(spec)
        if spec.target is not None:
            expected[spec.target.label] = [spec.target.value] * len(next(iter(expected.values())))
        assert got == expected, spec.key
    # The KPI slide's satisfaction value equals the named query for October 2026.
    monthly = Database(demo_store).run(
        "satisfaction_monthly",
        start=pd.Timestamp("2026-10-01").date(),
        end=pd.Timestamp("2026-10-01").date(),
        districts=[],
        systems=[],
        units=[],
        categories=[],
    )
    rate = f"{monthly['satisfaction_rate'].iloc[0]:.1%}"
    table = next(s for s in presentation.slides[1].shapes if s.has_table).table
    values = {table.cell(i, 0).text: table.cell(i, 1).text for i in range(1, len(table.rows))}
    assert rate in values.values()
    title_texts = " ".join(_texts(presentation.slides[0]))
    assert "模拟数据" in title_texts and "2025-11" in title_texts


def test_deck_command_writes_a_deck_with_filters(demo_store, tmp_path):
    out = tmp_path / "overview.pptx"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "civindex",
            "deck",
            "overview",
            "--out",
            str(out),
            "--param",
            "from=2026-01",
            "--param",
            "to=2026-06",
            "--param",
            "district=350102",
            "--param",
            "lang=en",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    presentation = Presentation(str(out))
    first = " ".join(_texts(presentation.slides[0]))
    assert "2026-01" in first and "2026-06" in first
    assert "Gulou" in first
    assert any(True for _ in _charts(presentation))


def test_deck_command_refuses_unknown_filters(demo_store, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "civindex",
            "deck",
            "overview",
            "--out",
            str(tmp_path / "x.pptx"),
            "--param",
            "colour=red",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "unknown filter" in result.stderr
    assert not (tmp_path / "x.pptx").exists()


@pytest.mark.parametrize("kind", ["column", "bar", "stacked_column", "stacked_bar"])
def test_every_category_kind_is_a_native_chart(kind):
    data = pd.DataFrame(
        {
            "c": ["社区", "交通", "社区", "交通"],
            "s": ["2025", "2025", "2026", "2026"],
            "v": [10, 20, 30, 40],
        }
    )
    spec = ChartSpec("k", kind, data, "c", "v", "标题", series="s")
    presentation = render.new_presentation()
    render.add_chart_slide(presentation, spec)
    reopened = Presentation(io.BytesIO(render.to_bytes(presentation)))
    [(_, chart)] = list(_charts(reopened))
    assert chart.chart_type == render.CHART_TYPES[kind]
    assert {s.name: list(s.values) for s in chart.plots[0].series} == {
        "2025": [10.0, 20.0],
        "2026": [30.0, 40.0],
    }


def test_server_side_png_at_scale_3(browser, tmp_path):
    """Needs Chromium (the `browser` fixture skips locally without it, fails in CI)."""
    import struct

    from civindex.charts.images import write_pngs

    data = pd.DataFrame({"单位": ["省发改委", "省教育厅"], "满意率": [0.97, 0.94]})
    specs = [
        ChartSpec("by_unit", "bar", data, "单位", "满意率", "各单位满意率", subtitle="2026-10"),
        ChartSpec("by_unit_col", "column", data, "单位", "满意率", "各单位满意率", height=500),
    ]
    paths = write_pngs(specs, tmp_path)
    for spec, path in zip(specs, paths, strict=True):
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", header[16:24])
        assert (width, height) == (1200 * 3, spec.height * 3)
        assert path.name.startswith(spec.key)


@pytest.mark.parametrize("page", ["participation", "satisfaction", "index", "unit", "warnings"])
def test_every_page_has_a_deck_of_its_own(demo_store, page):
    from civindex.cli_deck import PAGES, page_title

    deck = page_deck(page, {"from": ["2026-01"], "to": ["2026-10"], "focus_unit": ["gat"]})
    assert deck.title.endswith(page_title(page))
    assert deck.charts
    keys = [spec.key for spec in deck.charts]
    assert len(keys) == len(set(keys))
    stem = PAGES[page][0].removeprefix("pages/").removesuffix(".py")
    assert not all(k.startswith("overview") for k in keys), stem
    presentation = Presentation(io.BytesIO(decks.build(deck)))
    assert len(presentation.slides) == 1 + bool(deck.kpis) + len(deck.charts)
