"""Charts on a page: the subtitle and footnote every chart carries, and `show` with drill-down."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st

from civindex import reference
from civindex.charts.spec import ChartSpec
from civindex.i18n import language, t
from civindex.ui.context import PageContext, current
from civindex.ui.exports import record_spec
from civindex.ui.figures import figure_for

PROFILE_PAGES = {
    "unit": ("pages/unit_profile.py", "focus_unit"),
    "district": ("pages/district_profile.py", "focus_district"),
}
MAX_NAMES = 3
NAMED_CODES = {
    "unit_code": ("units", "unit_label"),
    "district_code": ("districts", "district_label"),
    "category_code": ("categories", "category_label"),
    "indicator_code": ("indicators", "indicator_label"),
}


def system_name(system: str) -> str:
    try:
        return t(f"system.{system}")
    except KeyError:
        return system


def _names(codes: Sequence[str], names: dict[str, str]) -> str:
    shown = [names.get(code, code) for code in codes[:MAX_NAMES]]
    text = t("chart.list_separator").join(shown)
    if len(codes) > MAX_NAMES:
        text = t("chart.and_more", names=text, count=len(codes), more=len(codes) - MAX_NAMES)
    return text


def with_names(frame: pd.DataFrame, context: PageContext | None = None) -> pd.DataFrame:
    """The frame plus a display-name column (`unit_label`, `district_label`, `category_label`,
    `system_label`) for each code column it holds, in the page's language."""
    context = context or current()
    labels = {}
    for column, (kind, label) in NAMED_CODES.items():
        if column in frame:
            names = reference.names(kind, language(), context.store.root)
            # a list comprehension: Series.map with a function costs ~10× more on these sizes
            labels[label] = [names.get(code, code) for code in frame[column].tolist()]
    if "unit_system" in frame:
        labels["system_label"] = [system_name(system) for system in frame["unit_system"].tolist()]
    return frame.assign(
        **{
            label: pd.Series(texts, index=frame.index, dtype="str")
            for label, texts in labels.items()
        }
    )


def long_form(
    frame: pd.DataFrame,
    keep: Sequence[str],
    values: dict[str, str],
    n: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Wide measures to one row per (kept columns × measure): `series` holds the measure's
    label from `values`, `value` its value and `n` its sample size (from the `n` mapping)."""
    if not values:
        return pd.DataFrame()
    rows, times = len(frame), len(values)
    long = {column: pd.concat([frame[column]] * times, ignore_index=True) for column in keep}
    long["series"] = pd.Series(
        [label for label in values.values() for _ in range(rows)], dtype="str"
    )
    long["value"] = pd.concat([frame[column] for column in values], ignore_index=True)
    if n is not None:
        long["n"] = pd.concat([frame[n[column]] for column in values], ignore_index=True)
    return pd.DataFrame(long)


def subtitle(
    context: PageContext | None = None,
    ignore: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
) -> str:
    """The active filters in words: period, districts (or all), and any system/unit/category.
    `ignore` names filters that do not apply to the chart (satisfaction has no category);
    `start` / `end` replace the period for a chart of other months (e.g. only the last one)."""
    context = context or current()
    filters, root, lang = context.filters, context.store.root, language()
    filters = filters.with_(**{name: () for name in ignore})
    filters = filters.with_(start=start or filters.start, end=end or filters.end)
    parts = [t("chart.period", start=f"{filters.start:%Y-%m}", end=f"{filters.end:%Y-%m}")]
    if filters.districts:
        names = reference.names("districts", lang, root)
        parts.append(t("chart.districts", names=_names(filters.districts, names)))
    else:
        parts.append(t("chart.all_districts"))
    if filters.systems:
        names = {s: system_name(s) for s in filters.systems}
        parts.append(t("chart.systems", names=_names(filters.systems, names)))
    if filters.units:
        names = reference.names("units", lang, root)
        parts.append(t("chart.units", names=_names(filters.units, names)))
    if filters.categories:
        names = reference.names("categories", lang, root)
        parts.append(t("chart.categories", names=_names(filters.categories, names)))
    return t("chart.separator").join(parts)


def footnote(context: PageContext | None = None) -> str:
    """Two short lines (they fit a half-width chart): source, with the 模拟数据 note when demo
    rows are shown; snapshot versions and as-of date."""
    context = context or current()
    if context.filters.as_of:
        as_of = t("chart.as_of", as_of=f"{context.filters.as_of:%Y-%m-%d %H:%M}")
    else:
        as_of = t("chart.latest", today=f"{date.today():%Y-%m-%d}")
    source = [t("app.source")] + ([t("chart.demo")] if context.demo_rows else [])
    separator = t("chart.separator")
    snapshot = [t("chart.snapshot", versions=context.versions_label), as_of]
    return separator.join(source) + "\n" + separator.join(snapshot)


def chart_spec(
    context: PageContext,
    key: str,
    kind: str,
    data: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    ignore: Sequence[str] = (),
    period: tuple[date, date] | None = None,
    **options,
) -> ChartSpec:
    """A spec carrying the page's subtitle (its active filters, less `ignore`, over `period`
    when the chart covers other months than the filter) and footnote."""
    return ChartSpec(
        key=key,
        kind=kind,
        data=data,
        x=x,
        y=y,
        title=title,
        subtitle=subtitle(context, ignore, *(period or ())),
        footnote=footnote(context),
        **options,
    )


def _drill_target(spec: ChartSpec) -> tuple[str, str] | None:
    column = spec.drill or ""
    for kind in PROFILE_PAGES:
        if column.startswith(kind):
            return PROFILE_PAGES[kind]
    return None


def plotly_config(spec: ChartSpec) -> dict:
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": "png",
            "scale": 3,
            "filename": spec.file_stem(),
            "height": spec.height,
            "width": 1200,
        },
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def show(spec: ChartSpec, context: PageContext | None = None) -> None:
    """Render the spec; a click on a drillable mark opens the unit or district profile."""
    context = context or current()
    record_spec(spec)
    figure = figure_for(spec)
    target = _drill_target(spec) if spec.kind != "heatmap" else None
    if target is None:
        st.plotly_chart(figure, theme=None, key=f"chart_{spec.key}", config=plotly_config(spec))
        return
    event = st.plotly_chart(
        figure,
        theme=None,
        key=f"chart_{spec.key}",
        config=plotly_config(spec),
        on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    codes = [point.get("customdata", [None])[0] for point in points if point.get("customdata")]
    codes = [code for code in codes if code]
    if codes:
        page, key = target
        st.switch_page(page, query_params=context.filters.to_query() | {key: str(codes[0])})
