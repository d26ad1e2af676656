"""The Plotly house style: what a screenshot of any chart must carry (title, filters, footnote,
target, n, interval), and the subtitle / footnote helpers every page uses."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import plotly.io as pio
import pyarrow as pa
import pytest

from civindex.charts.plotly import FONT_FAMILY, PALETTE, figure_json, to_figure
from civindex.charts.spec import ChartSpec, Target
from civindex.filters import Choices, Filters
from civindex.i18n import set_language
from civindex.ui.charts import (
    PROFILE_PAGES,
    footnote,
    long_form,
    plotly_config,
    subtitle,
    with_names,
)
from civindex.ui.context import PageContext
from civindex.ui.figures import PreparedFigure

RATES = pd.DataFrame(
    {
        "period_month": pd.to_datetime(["2026-08-01", "2026-09-01", "2026-10-01"]),
        "satisfaction_rate": [0.97, 0.94, 0.96],
        "rate_low": [0.95, 0.90, 0.93],
        "rate_high": [0.98, 0.96, 0.98],
        "responses": [400, 25, 120],
    }
)


@pytest.fixture(autouse=True)
def _chinese():
    set_language("zh")
    yield
    set_language("zh")


def rate_spec(**changes) -> ChartSpec:
    options = dict(
        key="trend",
        kind="line",
        data=RATES,
        x="period_month",
        y="satisfaction_rate",
        title="窗口服务满意率月度走势",
        subtitle="2025-11 至 2026-10 · 全市各区县",
        footnote="数据来源:文明城市共建数据库 · 模拟数据,非真实统计\n快照 满意度 v3",
        labels={"satisfaction_rate": "满意率", "period_month": "月份", "responses": "样本量"},
        number_format="percent1",
        target=Target(0.95, "目标"),
        error_low="rate_low",
        error_high="rate_high",
        n="responses",
        data_labels=True,
    )
    return ChartSpec(**(options | changes))


def footnote_text(figure) -> str:
    notes = [a.text for a in figure.layout.annotations if a.name == "footnote"]
    assert len(notes) == 1
    return notes[0]


@pytest.mark.parametrize("kind", ["line", "column", "bar"])
def test_the_picture_carries_title_subtitle_footnote_and_target(kind):
    figure = to_figure(rate_spec(kind=kind))

    assert "窗口服务满意率月度走势" in figure.layout.title.text
    assert figure.layout.title.subtitle.text == "2025-11 至 2026-10 · 全市各区县"
    note = footnote_text(figure)
    assert "数据来源:文明城市共建数据库" in note and "快照 满意度 v3" in note
    assert "模拟数据" in note
    # the annotation sits below the plot area, inside the figure's bottom margin
    (annotation,) = [a for a in figure.layout.annotations if a.name == "footnote"]
    assert annotation.yref == "paper" and annotation.y == 0 and annotation.yshift < 0
    assert -annotation.yshift < figure.layout.margin.b
    (target,) = [trace for trace in figure.data if trace.name == "目标 95%"]
    assert target.line.dash == "dash"
    values = target.x if kind == "bar" else target.y
    assert set(values) == {0.95}


def test_rates_show_their_interval_n_and_flag_a_small_sample():
    figure = to_figure(rate_spec(kind="column"))
    (bars,) = [trace for trace in figure.data if trace.type == "bar"]

    assert list(bars.error_y.array) == pytest.approx([0.01, 0.02, 0.02])
    assert list(bars.error_y.arrayminus) == pytest.approx([0.02, 0.04, 0.03])
    assert list(bars.marker.opacity) == [1.0, 0.45, 1.0]
    (labels,) = [trace for trace in figure.data if trace.name == "labels"]
    assert list(labels.text) == ["97.0% n=400", "94.0% n=25 ⚠", "96.0% n=120"]
    assert list(labels.y) == [0.98, 0.96, 0.98]  # past the whisker
    note = footnote_text(figure)
    assert "95% Wilson" in note and "n<30" in note


def test_a_line_of_rates_writes_each_months_n_under_its_tick():
    figure = to_figure(rate_spec())
    assert list(figure.layout.xaxis.ticktext) == [
        "2026-08<br>n=400",
        "2026-09<br>n=25 ⚠",
        "2026-10<br>n=120",
    ]
    (line,) = [trace for trace in figure.data if trace.name == "满意率"]
    assert list(line.y) == [0.97, 0.94, 0.96]


def test_house_template_fonts_palette_and_axis_units():
    data = pd.DataFrame({"category": ["社区", "交通"], "activities": [120, 80]})
    spec = ChartSpec(
        key="c",
        kind="column",
        data=data,
        x="category",
        y="activities",
        title="t",
        labels={"activities": "活动次数", "category": "共建类别"},
        y_unit="次",
    )
    figure = to_figure(spec)
    template = figure.layout.template.layout
    assert template.font.family == FONT_FAMILY
    assert "Noto Sans CJK SC" in FONT_FAMILY and "Microsoft YaHei" in FONT_FAMILY
    assert list(template.colorway) == list(PALETTE)
    assert figure.layout.yaxis.title.text == "活动次数(次)"
    assert figure.layout.xaxis.title.text == "共建类别"
    assert figure.layout.title.font.size >= 20


def test_series_split_into_traces_stacked_and_drill_codes_ride_along():
    data = pd.DataFrame(
        {
            "month": ["2026-09", "2026-09", "2026-10", "2026-10"],
            "category": ["社区", "交通", "社区", "交通"],
            "unit_code": ["fgw", "jyt", "fgw", "jyt"],
            "activities": [1, 2, 3, 4],
        }
    )
    spec = ChartSpec(
        key="s",
        kind="stacked_column",
        data=data,
        x="month",
        y="activities",
        series="category",
        title="t",
        drill="unit_code",
    )
    figure = to_figure(spec)
    assert figure.layout.barmode == "stack"
    assert [trace.name for trace in figure.data] == ["社区", "交通"]
    assert [row[0] for row in figure.data[0].customdata] == ["fgw", "fgw"]
    assert figure.layout.legend.traceorder == "normal"


def test_a_descending_bar_chart_puts_the_largest_first():
    data = pd.DataFrame({"unit": ["甲", "乙", "丙"], "value": [2, 9, 5]})
    figure = to_figure(
        ChartSpec(key="b", kind="bar", data=data, x="unit", y="value", title="t", sort="descending")
    )
    assert list(figure.data[0].y) == ["乙", "丙", "甲"]
    assert figure.layout.yaxis.autorange == "reversed"


def test_a_heatmap_pivots_cells_and_keeps_month_order():
    data = pd.DataFrame(
        {
            "unit": ["甲", "甲", "乙"],
            "period_month": pd.to_datetime(["2026-10-01", "2026-09-01", "2026-09-01"]),
            "activities": [3, 1, 7],
        }
    )
    spec = ChartSpec(
        key="h",
        kind="heatmap",
        data=data,
        x="period_month",
        y="unit",
        value="activities",
        title="t",
    )
    (heatmap,) = to_figure(spec).data
    assert list(heatmap.x) == ["2026-09", "2026-10"]
    assert list(heatmap.y) == ["甲", "乙"]
    assert heatmap.z[0].tolist() == [1, 3]
    assert heatmap.z[1][0] == 7 and pd.isna(heatmap.z[1][1])


@pytest.mark.parametrize("seed", range(20))
def test_heatmap_cells_are_what_pivot_table_sums(seed):
    """The heat map's own pivot against pandas': pairs repeated, missing, of no name, missing
    values, integer and float values, month and name columns."""
    from civindex.charts.plotly import heatmap_grid

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    names = ["甲", "乙", "丙", "丁", None]
    months = ["2026-10", "2026-09", "2025-12", "2026-01"]
    values = rng.integers(0, 9, n).astype(float) if seed % 2 else rng.normal(0.9, 0.05, n)
    values[rng.random(n) < 0.15] = np.nan
    data = pd.DataFrame(
        {
            "unit": pd.Series([names[i] for i in rng.integers(0, 5, n)], dtype="str"),
            "month": [months[i] for i in rng.integers(0, 4 if seed % 3 else 3, n)],
            "v": values,
        }
    )
    rows, columns, cells = heatmap_grid(data, "month", "unit", "v")
    expected = data.pivot_table(index="unit", columns="month", values="v", aggfunc="sum")
    expected = expected.reindex(index=rows, columns=columns)
    assert columns == sorted(set(data["month"]))
    assert rows == list(dict.fromkeys(data["unit"].tolist()))
    np.testing.assert_allclose(cells, expected.to_numpy(dtype=float), rtol=1e-12)


def test_negative_changes_get_room_for_their_labels():
    data = pd.DataFrame({"category": ["社区", "交通"], "change": [0.3, -0.1]})
    figure = to_figure(
        ChartSpec(
            key="y",
            kind="bar",
            data=data,
            x="category",
            y="change",
            title="t",
            number_format="percent1",
            data_labels=True,
        )
    )
    low, high = figure.layout.xaxis.range
    assert low < -0.1 and high >= 0.3
    (labels,) = [trace for trace in figure.data if trace.name == "labels"]
    assert list(labels.text) == [" 30.0%", "-10.0% "]
    assert list(labels.textposition) == ["middle right", "middle left"]
    assert figure.data[0].text is None  # text on a bar would stop a click selecting it


def test_an_empty_result_still_draws_titles_and_says_so():
    spec = rate_spec(data=RATES.iloc[0:0])
    figure = to_figure(spec)
    assert figure.layout.title.subtitle.text
    assert any(a.text == "所选条件下没有数据" for a in figure.layout.annotations)


def test_download_button_is_a_3x_png_named_after_chart_and_filters():
    config = plotly_config(rate_spec())
    assert config["displaylogo"] is False
    assert config["toImageButtonOptions"]["format"] == "png"
    assert config["toImageButtonOptions"]["scale"] == 3
    assert config["toImageButtonOptions"]["filename"].startswith("trend_2025-11")


def test_long_form_labels_each_measure():
    frame = pd.DataFrame({"k": ["a"], "x": [1], "y": [2], "nx": [10], "ny": [20]})
    long = long_form(frame, ["k"], {"x": "X", "y": "Y"}, n={"x": "nx", "y": "ny"})
    assert long.to_dict("records") == [
        {"k": "a", "series": "X", "value": 1, "n": 10},
        {"k": "a", "series": "Y", "value": 2, "n": 20},
    ]


def test_profile_pages_match_the_drill_columns():
    assert PROFILE_PAGES == {
        "unit": ("pages/unit_profile.py", "focus_unit"),
        "district": ("pages/district_profile.py", "focus_district"),
    }


@pytest.fixture
def context(store) -> PageContext:
    table = pa.table(
        {
            "period_month": [date(2026, 9, 1)],
            "unit_code": ["fgw"],
            "district_code": ["350102"],
            "category_code": ["community"],
            "tasks_claimed": [1],
            "tasks_completed": [1],
            "activities": [2],
            "participants": [20],
            "volunteer_hours": [4.0],
        }
    )
    store.publish("participation", table, user="t")
    choices = Choices(date(2026, 9, 1), date(2026, 10, 1), units=["fgw", "jyt", "gat", "mzt"])
    filters = Filters(
        start=date(2025, 11, 1),
        end=date(2026, 10, 1),
        districts=("350102", "350103"),
        units=("fgw", "jyt", "gat", "mzt"),
        categories=("community",),
    )
    return PageContext(store, store.snapshot(), filters, choices)


def test_codes_get_their_names_in_the_page_language(context):
    """Every code column gets a label column from the reference lists, indicators included; a
    code the list does not hold shows as itself rather than as a blank."""
    frame = pd.DataFrame(
        {
            "district_code": ["350102", "350999"],
            "unit_code": ["fgw", "fgw"],
            "indicator_code": ["key_tasks", "retired_indicator"],
        }
    )
    set_language("zh")
    named = with_names(frame, context)
    assert named["district_label"].tolist() == ["鼓楼", "350999"]
    assert named["indicator_label"].tolist() == ["重点工作", "retired_indicator"]
    assert named["unit_label"].iloc[0] != "fgw"
    set_language("en")
    named = with_names(frame, context)
    assert named["district_label"].tolist() == ["Gulou District", "350999"]
    assert named["indicator_label"].tolist() == ["Key tasks", "retired_indicator"]
    set_language("zh")
    assert "indicator_label" not in frame  # the caller's frame is left as it was


def test_subtitle_names_the_filters_in_the_page_language(context):
    assert subtitle(context) == (
        "2025-11 至 2026-10 · 区县:鼓楼、台江 · 单位:省发改委、省教育厅、省公安厅 等4个 · 类别:社区"
    )
    assert subtitle(context, ignore=("categories", "units")) == (
        "2025-11 至 2026-10 · 区县:鼓楼、台江"
    )
    month = date(2026, 10, 1)
    assert subtitle(context, ignore=("districts",), start=month, end=month).startswith(
        "2026-10 至 2026-10 · 全市各区县"
    )
    set_language("en")
    assert subtitle(context, ignore=("units",)) == (
        "2025-11 to 2026-10 · districts: Gulou District, Taijiang District"
        " · categories: Civilized communities"
    )


def test_footnote_gives_source_snapshot_and_as_of(context):
    today = f"{date.today():%Y-%m-%d}"
    lines = footnote(context).splitlines()
    assert lines[0] == "数据来源:文明城市共建数据库"  # no demo rows in this store
    assert "v0" in lines[1] and today in lines[1] and "最新" in lines[1]

    moment = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    pinned = PageContext(
        context.store, context.snapshot, context.filters.with_(as_of=moment), context.choices
    )
    assert "2026-11-03 09:30" in footnote(pinned).splitlines()[1]


def test_footnote_marks_demo_data(demo_env):
    from civindex.store import Store

    store = Store(demo_env)
    choices = Choices(date(2026, 1, 1), date(2026, 10, 1))
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 10, 1))
    context = PageContext(store, store.snapshot(), filters, choices)
    assert "模拟数据" in footnote(context).splitlines()[0]


def test_columns_with_labels_get_headroom_and_keep_their_margins():
    data = pd.DataFrame({"level": ["5", "4"], "share": [0.6, 0.3]})
    spec = ChartSpec(
        key="d",
        kind="column",
        data=data,
        x="level",
        y="share",
        title="t",
        subtitle="s",
        number_format="percent1",
        data_labels=True,
    )
    figure = to_figure(spec)
    assert figure.layout.yaxis.range == pytest.approx((0, 0.672))
    assert figure.layout.margin.t >= 76


def test_a_missing_count_is_a_gap_and_the_headroom_comes_from_the_rest():
    data = pd.DataFrame({"unit": ["甲", "乙", "丙"], "tasks": pd.array([40, None, 10], "Int64")})
    spec = ChartSpec(
        key="d", kind="column", data=data, x="unit", y="tasks", title="t", data_labels=True
    )
    figure = to_figure(spec)
    assert json.loads(pio.to_json(figure))["data"][0]["y"] == [40, None, 10]
    assert figure.layout.yaxis.range == pytest.approx((0, 40 * 1.12))


def test_a_bar_without_a_name_still_draws():
    names = pd.array(["甲", None, "丙"], dtype="string[pyarrow]")
    data = pd.DataFrame({"unit": names, "activities": [3.0, 2.0, 1.0]})
    spec = ChartSpec(
        key="d", kind="bar", data=data, x="unit", y="activities", title="t", data_labels=True
    )
    figure = to_figure(spec)
    assert list(figure.data[0].x) == [3.0, 2.0, 1.0]
    assert len(figure.data[0].y) == 3 and "甲" in figure.data[0].y


def test_heatmap_rows_keep_one_line_and_the_whole_name_in_the_hover():
    long_name = "Fujian Provincial Department of Ethnic and Religious Affairs"
    data = pd.DataFrame({"unit": [long_name, "甲"], "month": ["2026-09", "2026-09"], "v": [1, 2]})
    spec = ChartSpec(key="h", kind="heatmap", data=data, x="month", y="unit", value="v", title="t")
    figure = to_figure(spec)
    assert list(figure.data[0].y) == [long_name, "甲"]
    shown = list(figure.layout.yaxis.ticktext)
    assert shown[0].endswith("…") and long_name.startswith(shown[0][:-1]) and shown[1] == "甲"


PAGES = [
    "pages/overview.py",
    "pages/participation.py",
    "pages/satisfaction.py",
    "pages/index_results.py",
    "pages/unit_profile.py",
    "pages/district_profile.py",
    "pages/warnings.py",
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_figure_is_what_plotly_validation_makes_of_it(demo_env, lang):
    """to_figure skips Plotly's validation (most of a figure's cost): every chart of every page,
    with its data and empty, must come out as validation would make it, property for property."""
    import dataclasses
    import json
    from pathlib import Path

    import plotly.graph_objects as go
    import plotly.io as pio
    from streamlit.testing.v1 import AppTest

    from civindex.ui.exports import SPECS_KEY, START_PAGE_KEY

    checked = 0
    for page in PAGES:
        at = AppTest.from_file(str(Path(__file__).parent.parent / "dashboard.py"))
        at.query_params["lang"] = lang
        at.session_state[START_PAGE_KEY] = page
        at.run(timeout=120)
        assert not at.exception, [e.value for e in at.exception]
        specs = at.session_state[SPECS_KEY]
        for spec in specs.values() if isinstance(specs, dict) else specs:
            for variant in (spec, dataclasses.replace(spec, data=spec.data.iloc[0:0])):
                built = to_figure(variant)
                validated = go.Figure(built.to_plotly_json())  # raises on any invalid property
                assert json.loads(pio.to_json(built)) == json.loads(pio.to_json(validated))
                # what the page sends, the JSON unvalidated, is what st.plotly_chart makes of
                # the figure: the same but for arrays Plotly encodes as base64
                assert sent(PreparedFigure(figure_json(variant))) == sent(validated)
                checked += 1
    assert checked >= 60


def sent(figure) -> dict:
    """The figure as st.plotly_chart sends it, with typed arrays ({"dtype", "bdata"}) decoded
    and NaN as null, as Plotly.js reads both."""
    import base64

    import numpy as np
    import plotly.tools

    def plain(value):
        if isinstance(value, dict) and {"dtype", "bdata"} <= set(value):
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            if "shape" in value:
                array = array.reshape([int(n) for n in value["shape"].split(",")])
            return plain(array.tolist())
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return None if isinstance(value, float) and math.isnan(value) else value

    as_dict = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
    return plain(json.loads(pio.to_json(as_dict, validate=False)))
