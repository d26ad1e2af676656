"""区县画像 District profile: one district — its index and rank history and the indicator that
drove its last change, the units paired with or working in it, the satisfaction of the windows
there and the participation there. Opened by a click (?focus_district=code) or the picker."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from civindex import reference
from civindex.charts.spec import Target
from civindex.i18n import language, t
from civindex.kpi import shift_month
from civindex.ranking import drivers, rank_change_label
from civindex.schema import SATISFACTION_TARGET, SMALL_SAMPLE
from civindex.ui.charts import long_form, subtitle, with_names
from civindex.ui.context import current
from civindex.ui.views import (
    chart,
    explain_change,
    focus_picker,
    metric,
    profile_table,
    ranking_columns,
    round_labels,
)
from civindex.ui.widgets import empty_state

TOP_UNITS = 15
TREND_MONTHS = 24
context = current()
root = context.store.root
names = reference.names("districts", language(), root)
default = context.filters.districts[0] if context.filters.districts else next(iter(names))
focus = focus_picker("focus_district", names, default, t("profile.district.pick"))
district = reference.load("districts", root).set_index("district_code").loc[focus]
st.title(t("profile.district.heading", name=names[focus]))
kind = t("profile.district.core") if district["is_core_urban"] else ""
full = district["district_name_en"] if language() == "en" else district["district_name"]
st.caption(" · ".join(part for part in (full, focus, kind) if part))
if not context.has_data:
    empty_state()
    st.stop()

here = replace(context, filters=context.filters.with_(districts=(focus,), systems=(), units=()))
here.prefetch(
    ("index_district_ranking", {"round_type": ""}),
    ("index_indicator_breakdown", {"round_name": ""}),  # every round: the latest is picked below
    "district_units",
    "participation_by_category_monthly",
    "satisfaction_monthly",
    "profile_windows",
)
sub = subtitle(here)
indicator_names = reference.names("indicators", language(), root)

st.subheader(t("profile.district.index"))
history = with_names(here.run("index_district_ranking", round_type=""), context)
since = min(context.filters.start, shift_month(context.filters.end, -(TREND_MONTHS - 1)))
if history.empty:
    st.info(t("chart.no_data"))
else:
    labels = round_labels(history)
    latest = history.iloc[-1]
    indicators = here.run("index_indicator_breakdown", round_name="")
    breakdown = indicators[indicators["round_name"] == latest["round_name"]].reset_index(drop=True)
    breakdown["indicator_label"] = pd.Series(
        [indicator_names.get(code, code) for code in breakdown["indicator_code"].tolist()],
        index=breakdown.index,
        dtype="str",
    )
    change = latest["index_change"]
    rank = t("profile.rank_plain", rank=int(latest["rank"]), of=int(latest["districts_ranked"]))
    with st.columns(3)[0]:
        metric(
            t("label.civilization_index"),
            f"{latest['civilization_index']:.2f}",
            None if pd.isna(change) else f"{change:+.2f}",
            t("profile.rank_note", rank=rank, move=rank_change_label(latest["rank_change"]))
            + f" · {labels[latest['round_name']]}",
        )
    driven = drivers(breakdown)
    if not driven.empty:
        explain_change(names[focus], latest, driven.iloc[0], indicator_names)
    type_names = {r: t(f"chart.round_type.{r}") for r in set(history["round_type"].tolist())}
    history["round_type_label"] = pd.Series(
        [type_names[r] for r in history["round_type"].tolist()], index=history.index, dtype="str"
    )
    chart(
        context,
        "district_index_trend",
        "line",
        history[pd.to_datetime(history["round_date"]) >= pd.Timestamp(since)],
        "round_date",
        "civilization_index",
        t("profile.district.index_trend", name=names[focus]),
        subtitle=sub,
        series="round_type_label",
        y_unit=t("unit.points"),
        number_format="float1",
    )
    round_names = {"score_rate": labels[latest["round_name"]]}
    round_names["previous_score_rate"] = labels.get(latest["previous_round"], "")
    rates = long_form(breakdown, ["indicator_label"], round_names)
    rates = rates.rename(columns={"series": "round", "value": "rate"}).dropna()
    chart(
        context,
        "district_indicators",
        "column",
        rates.reset_index(drop=True),
        "indicator_label",
        "rate",
        t("profile.district.indicators", name=names[focus]),
        subtitle=sub,
        series="round",
        number_format="percent1",
        data_labels=True,
        labels={"indicator_label": t("index.indicator"), "rate": t("index.score_rate")},
    )
    with st.expander(t("profile.district.rank_history")):
        first = {"round": t("index.round"), "round_type_label": t("index.round_type")}
        st.dataframe(
            history.assign(
                round=[labels[r] for r in history["round_name"].tolist()],
                rank_move=[rank_change_label(c) for c in history["rank_change"].tolist()],
            ).iloc[::-1],
            column_order=list(ranking_columns(first)),
            column_config=ranking_columns(first),
            hide_index=True,
        )

st.subheader(t("profile.district.units"))
units = with_names(here.run("district_units"), context)
units["paired"] = units["is_paired"].map({True: "✓", False: ""})
chart(
    context,
    "district_units",
    "bar",
    units.head(TOP_UNITS),
    "unit_label",
    "activities",
    t("profile.district.units_chart", name=names[focus], n=min(TOP_UNITS, len(units))),
    subtitle=sub,
    y_unit=t("unit.times"),
    data_labels=True,
    drill="unit_code",
    height=200 + 30 * min(TOP_UNITS, len(units)),
)
profile_table(
    context,
    units,
    "unit_code",
    {
        "unit_label": t("label.unit"),
        "paired": t("profile.district.paired"),
        "activities": t("label.activities"),
        "participants": t("label.participants"),
        "tasks_claimed": t("label.tasks_claimed"),
        "completion_rate": st.column_config.NumberColumn(
            t("label.completion_rate"), format="percent"
        ),
    },
    key="district_units_table",
)
chart(
    context,
    "district_participation",
    "stacked_column",
    with_names(here.run("participation_by_category_monthly"), context),
    "period_month",
    "activities",
    t("profile.district.participation", name=names[focus]),
    subtitle=sub,
    series="category_label",
    y_unit=t("unit.times"),
)

st.subheader(t("profile.satisfaction"))
rate_options = dict(
    number_format="percent1",
    target=Target(SATISFACTION_TARGET, t("chart.target")),
    error_low="rate_low",
    error_high="rate_high",
    n="responses",
    subtitle=subtitle(here, ignore=("categories",)),
)
chart(
    context,
    "district_satisfaction",
    "line",
    here.run("satisfaction_monthly"),
    "period_month",
    "satisfaction_rate",
    t("profile.district.satisfaction", name=names[focus]),
    data_labels=True,
    **rate_options,
)
windows = with_names(here.run("profile_windows"), context)
rated = windows[windows["responses"] >= SMALL_SAMPLE]
chart(
    context,
    "district_windows",
    "bar",
    rated,
    "window_name",
    "satisfaction_rate",
    t("profile.district.windows", name=names[focus]),
    data_labels=True,
    drill="unit_code",
    height=200 + 36 * max(len(rated), 1),
    **rate_options,
)
if len(rated) < len(windows):
    st.caption(t("profile.district.small_windows", count=len(windows) - len(rated), n=SMALL_SAMPLE))
