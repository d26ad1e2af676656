"""窗口满意度 Satisfaction: trend, units below target last month, the four dimensions (四优), by
unit and by window with n and Wilson interval, distribution of ratings, by channel."""

import streamlit as st

from civindex.charts.spec import Target
from civindex.i18n import language, t
from civindex.schema import RATING_LEVELS, SATISFACTION, SATISFACTION_TARGET, SMALL_SAMPLE
from civindex.ui.charts import chart_spec, show, with_names
from civindex.ui.context import current
from civindex.ui.widgets import empty_state

LOWEST = 20
NOT_FILTERED = ("categories",)  # satisfaction rows carry no co-building category

context = current()
month = context.filters.end
target_text = f"{SATISFACTION_TARGET:.0%}"
st.title(t("satisfaction.heading"))
st.caption(t("satisfaction.caption", target=target_text, small=SMALL_SAMPLE))
if not context.has_data:
    empty_state()
    st.stop()

# dashboard.py has started this page's queries (civindex/ui/opening.py).
english = language() == "en"
labels = {
    "period_month": t("label.month"),
    "satisfaction_rate": t("label.satisfaction_rate"),
    "share": t("label.share"),
    "responses": t("label.responses"),
    "unit_label": t("label.unit"),
    "window_label": t("label.window"),
    "dimension_label": t("label.dimension"),
    "rating_label": t("label.rating"),
    "channel_label": t("label.channel"),
}


def rate_chart(key: str, data, x: str, title: str, kind: str = "bar", **options) -> None:
    """A pooled rate per mark, with its n, Wilson interval and the 95% target."""
    spec = chart_spec(
        context,
        f"satisfaction_{key}",
        kind,
        data,
        x,
        "satisfaction_rate",
        title,
        ignore=NOT_FILTERED,
        labels=labels,
        number_format="percent1",
        target=Target(SATISFACTION_TARGET, t("chart.target")),
        error_low="rate_low",
        error_high="rate_high",
        n="responses",
        data_labels=True,
        **options,
    )
    show(spec, context)


def bar_height(rows) -> int:
    return 230 + 30 * len(rows)


rate_chart(
    "trend", context.run("satisfaction_monthly"), "period_month", t("satisfaction.trend"), "line"
)

last_month = with_names(
    context.run("satisfaction_by_unit", start=month, satisfaction_target=SATISFACTION_TARGET),
    context,
)
below = last_month[last_month["is_below_target"]]
month_text = f"{month:%Y-%m}"
if below.empty:
    st.success(t("satisfaction.none_below", month=month_text, target=target_text))
else:
    rate_chart(
        "below_last_month",
        below,
        "unit_label",
        t("satisfaction.below_last_month", month=month_text, target=target_text),
        drill="unit_code",
        height=bar_height(below),
        period=(month, month),
    )
    st.caption(
        t(
            "satisfaction.below_caption",
            month=month_text,
            below=len(below),
            small=int(below["is_small_sample"].sum()),
            n=SMALL_SAMPLE,
        )
    )

dimensions = context.run("satisfaction_dimensions")
dimensions["dimension_label"] = [
    getattr(SATISFACTION.column(column), f"label_{language()}")
    for column in dimensions["rating_column"]
]
rate_chart("dimensions", dimensions, "dimension_label", t("satisfaction.dimensions"), height=400)
st.caption(t("satisfaction.dimensions.caption"))

by_unit = with_names(
    context.run("satisfaction_by_unit", satisfaction_target=SATISFACTION_TARGET), context
)
lowest_units = by_unit.head(LOWEST)
rate_chart(
    "by_unit",
    lowest_units,
    "unit_label",
    t("satisfaction.by_unit", n=len(lowest_units)),
    drill="unit_code",
    height=bar_height(lowest_units),
)

windows = with_names(context.run("profile_windows").head(LOWEST), context)
windows["window_label"] = [
    t("satisfaction.window_of", unit=unit, window=window or "—")
    for unit, window in zip(windows["unit_label"], windows["window_name"], strict=True)
]
rate_chart(
    "by_window",
    windows,
    "window_label",
    t("satisfaction.by_window", n=len(windows)),
    drill="unit_code",
    height=bar_height(windows),
)

with st.expander(t("satisfaction.all_units")):
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        by_unit,
        column_order=[
            "unit_label",
            "system_label",
            "responses",
            "satisfaction_rate",
            "rate_low",
            "rate_high",
            "good_rate",
            "is_small_sample",
            "is_below_target",
        ],
        column_config={
            "unit_label": t("label.unit"),
            "system_label": t("label.system"),
            "responses": st.column_config.NumberColumn(t("label.responses"), format="%d"),
            "satisfaction_rate": percent | {"label": t("label.satisfaction_rate")},
            "rate_low": percent | {"label": t("label.rate_low")},
            "rate_high": percent | {"label": t("label.rate_high")},
            "good_rate": percent | {"label": t("label.good_rate")},
            "is_small_sample": t("label.small_sample"),
            "is_below_target": t("satisfaction.below_target"),
        },
        hide_index=True,
    )

distribution = context.run("satisfaction_distribution")
distribution["rating_label"] = [
    f"{rating} {RATING_LEVELS[rating][1 if english else 0]}" for rating in distribution["rating"]
]
spec = chart_spec(
    context,
    "satisfaction_distribution",
    "column",
    distribution,
    "rating_label",
    "share",
    t("satisfaction.distribution", n=f"{int(distribution['responses'].sum()):,}"),
    ignore=NOT_FILTERED,
    labels=labels,
    number_format="percent1",
    data_labels=True,
    height=380,
)
show(spec, context)

channels = context.run("satisfaction_by_channel")
channels["channel_label"] = [
    t(f"satisfaction.channel.{channel or 'unknown'}") for channel in channels["channel"]
]
rate_chart("by_channel", channels, "channel_label", t("satisfaction.by_channel"), height=380)
