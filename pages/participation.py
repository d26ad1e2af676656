"""单位参与 Participation: by category (with 同比), system, unit, district; claim and completion
rates; unit × month heat map. One measure, picked at the top, drives the charts."""

import streamlit as st

from civindex.charts.spec import ChartSpec
from civindex.i18n import t
from civindex.kpi import shift_month
from civindex.ui.charts import footnote, long_form, show, subtitle, with_names
from civindex.ui.context import current
from civindex.ui.widgets import empty_state

MEASURES = {
    "activities": "unit.times",
    "participants": "unit.people",
    "volunteer_hours": "unit.hours",
    "tasks_claimed": "unit.tasks",
    "tasks_completed": "unit.tasks",
}
TOP_UNITS = 20
HEATMAP_UNITS = 30

context = current()
filters = context.filters
st.title(t("participation.heading"))
st.caption(t("participation.caption"))
if not context.has_data:
    empty_state()
    st.stop()

# dashboard.py has started this page's queries (civindex/ui/opening.py).
measure = st.segmented_control(
    t("participation.measure"),
    options=list(MEASURES),
    format_func=lambda key: t(f"label.{key}"),
    default="activities",
    key="participation_measure",
)
measure = measure or "activities"
name, unit = t(f"label.{measure}"), t(MEASURES[measure])
sub, note = subtitle(context), footnote(context)
labels = {
    measure: name,
    "value": name,
    "category_label": t("label.category"),
    "system_label": t("label.system"),
    "unit_label": t("label.unit"),
    "district_label": t("label.district"),
    "period_month": t("label.month"),
    "series": "",
    "n": "n",
}


def chart(key: str, kind: str, data, x: str, y: str, title: str, **options) -> None:
    """One chart of this page: the page's subtitle, footnote, labels and measure unit."""
    options = {"y_unit": unit, "data_labels": True} | options
    extra_labels = options.pop("labels", {})
    spec = ChartSpec(
        key=f"participation_{key}",
        kind=kind,
        data=data,
        x=x,
        y=y,
        title=title,
        subtitle=sub,
        footnote=note,
        labels=labels | extra_labels,
        **options,
    )
    show(spec, context)


by_category = with_names(context.run("participation_by_category"), context)
periods = {measure: t("participation.this_period"), f"{measure}_prev": t("participation.last_year")}
chart(
    "category_yoy",
    "bar",
    by_category,
    "category_label",
    f"{measure}_yoy",
    t("participation.category_yoy", measure=name),
    number_format="percent1",
    sort="descending",
    y_unit="",
    labels={f"{measure}_yoy": t("label.yoy")},
    height=380,
)
chart(
    "by_category",
    "column",
    long_form(by_category, ["category_label"], periods),
    "category_label",
    "value",
    t("participation.by_category", measure=name),
    series="series",
)
st.caption(
    t(
        "participation.category_yoy.caption",
        start=f"{filters.start:%Y-%m}",
        end=f"{filters.end:%Y-%m}",
        prev_start=f"{shift_month(filters.start, -12):%Y-%m}",
        prev_end=f"{shift_month(filters.end, -12):%Y-%m}",
    )
)

by_system = with_names(context.run("participation_by_system"), context)
chart(
    "by_system",
    "bar",
    by_system,
    "system_label",
    measure,
    t("participation.by_system", measure=name),
    sort="descending",
    height=380,
)
rates = {"claim_rate": t("label.claim_rate"), "completion_rate": t("label.completion_rate")}
chart(
    "rates_by_system",
    "bar",
    long_form(by_system, ["system_label"], rates),
    "system_label",
    "value",
    t("participation.rates_by_system"),
    series="series",
    number_format="percent1",
    value_range=(0, 1.0),
    y_unit="",
    labels={"value": " / ".join(rates.values())},
    height=520,
)
counts = [
    t(
        "participation.system_counts",
        system=row.system_label,
        units=row.units,
        tasks=int(row.tasks_claimed),
    )
    for row in by_system.itertuples()
]
st.caption(t("participation.rates.caption", counts=t("chart.list_separator").join(counts)))

by_unit = with_names(context.run("participation_by_unit"), context)
top_units = by_unit.nlargest(TOP_UNITS, measure, keep="first")
chart(
    "unit_ranking",
    "bar",
    top_units,
    "unit_label",
    measure,
    t("participation.unit_ranking", measure=name, n=len(top_units)),
    drill="unit_code",
    height=200 + 28 * len(top_units),
)
chart(
    "by_district",
    "column",
    with_names(context.run("participation_by_district"), context),
    "district_label",
    measure,
    t("participation.by_district", measure=name),
    sort="descending",
    drill="district_code",
)
st.caption(t("participation.drill_caption"))

ranked = by_unit.nlargest(HEATMAP_UNITS, measure, keep="first")["unit_code"].tolist()
order = {code: position for position, code in enumerate(ranked)}
unit_months = context.run("participation_unit_month")
unit_months = unit_months[unit_months["unit_code"].isin(order)].sort_values(
    "unit_code", key=lambda codes: codes.map(order), kind="stable"
)
chart(
    "heatmap",
    "heatmap",
    with_names(unit_months, context),
    "period_month",
    "unit_label",
    t("participation.heatmap", measure=name, n=len(ranked)),
    value=measure,
    y_unit="",
    height=230 + 24 * len(ranked),
)
