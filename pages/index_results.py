"""测评指数 Index results: district ranking per round with rank change, the indicator that drove
each change, the district × indicator heat map, and the trend per district, by round type."""

import pandas as pd
import streamlit as st

from civindex import reference
from civindex.i18n import language, t
from civindex.kpi import shift_month
from civindex.ranking import drivers, rank_change_label
from civindex.schema import ROUND_TYPES
from civindex.ui.charts import subtitle, with_names
from civindex.ui.context import current
from civindex.ui.views import (
    chart,
    explain_change,
    pick,
    profile_table,
    ranking_columns,
    round_labels,
)
from civindex.ui.widgets import empty_state

TREND_MONTHS = 24
context = current()
st.title(t("index.heading"))
st.caption(t("index.intro"))

# Every round, and every round's indicators, in one batch: the round type and round picked
# below only select rows of these, so a pick runs no query. The ranking among all districts is
# computed before the district filter applies (the query's own `where`), so filtering the full
# ranking here gives the rows the query would for the filter.
# The ranking comes first and the indicators start once it is in: on two cores the two at once
# each take about as long as both one after the other, and the page has nothing to draw before
# the ranking. So the indicators are computed while the page draws the ranking chart (~10 ms
# sooner); only the table's driver column and the sections below it wait for them.
# The query sorts by round date, round name, rank and district: the newest round is the last,
# and a round's rows are in rank order.
# dashboard.py has started the ranking (civindex/ui/opening.py).
every_round = context.run("index_district_ranking", districts=[], round_type="")
context.prefetch(("index_indicator_breakdown", {"round_name": ""}))
if every_round.empty:
    empty_state()
    st.stop()

indicator_names = reference.names("indicators", language(), context.store.root)
labels = round_labels(every_round)
types = [r for r in ROUND_TYPES if r in set(every_round["round_type"].unique())]
left, right = st.columns([1, 2])
type_names = {r: t(f"chart.round_type.{r}") for r in types} | {"": t("index.every_type")}
with left:
    round_type = pick(
        t("index.round_type"), type_names, "index_round_type", every_round.iloc[-1]["round_type"]
    )
# Rows picked by position from lists: a boolean mask over the frame costs more at these sizes.
districts = set(context.filters.districts)
kept = [
    i
    for i, (kind, code) in enumerate(
        zip(every_round["round_type"].tolist(), every_round["district_code"].tolist(), strict=True)
    )
    if (not round_type or kind == round_type) and (not districts or code in districts)
]
shown = every_round if len(kept) == len(every_round) else every_round.iloc[kept]
ranking = with_names(shown.reset_index(drop=True), context)
round_names = ranking["round_name"].tolist()
newest = list(dict.fromkeys(reversed(round_names)))
if ranking.empty:
    st.info(t("chart.no_data"))
    st.stop()
with right:
    chosen = pick(t("index.round"), {r: labels[r] for r in newest}, "index_round")
this_round = ranking.iloc[[i for i, name in enumerate(round_names) if name == chosen]]
sub = subtitle(context, ignore=("systems", "units", "categories"))
labels_of = {"indicator_label": t("index.indicator"), "score_rate": t("index.score_rate")}
labels_of["index_contribution"] = t("index.contribution")


def index_chart(key: str, kind: str, data: pd.DataFrame, x: str, y: str, title: str, **options):
    chart(context, key, kind, data, x, y, title, subtitle=sub, labels=labels_of, **options)


st.subheader(t("index.ranking", round=labels[chosen]))
previous = this_round["previous_round"].dropna()
if not previous.empty:
    st.caption(t("index.compared_with", round=labels[previous.iloc[0]]))
index_chart(
    "index_ranking",
    "bar",
    this_round,
    "district_label",
    "civilization_index",
    t("index.ranking.title", round=labels[chosen]),
    y_unit=t("unit.points"),
    number_format="float2",
    data_labels=True,
    drill="district_code",
    height=200 + 34 * len(this_round),
)
indicators = context.run("index_indicator_breakdown", round_name="")
breakdown = with_names(
    indicators[indicators["round_name"] == chosen].reset_index(drop=True), context
)
driven = drivers(breakdown).set_index("district_code")
pull = zip(driven["driver_code"].tolist(), driven["driver_points"].tolist(), strict=True)
pulls = dict(zip(driven.index.tolist(), pull, strict=True))
codes = this_round["district_code"].tolist()
this_round = this_round.assign(
    rank_move=this_round["rank_change"].map(rank_change_label),
    driver=[
        f"{indicator_names[pulls[code][0]]} {pulls[code][1]:+.2f}" if code in pulls else "—"
        for code in codes
    ],
)
profile_table(
    context,
    this_round,
    "district_code",
    ranking_columns({"district_label": t("label.district")}) | {"driver": t("index.driver")},
    key="index_ranking_table",
)

st.subheader(t("index.breakdown"))
names = dict(zip(codes, this_round["district_label"].tolist(), strict=True))
wanted = [d for d in context.filters.districts if d in names] or list(names)
focus = pick(t("label.district"), names, "index_focus", wanted[0])
row = this_round.iloc[codes.index(focus)]
if focus in driven.index:
    explain_change(row["district_label"], row, driven.loc[focus], indicator_names)
index_chart(
    "index_contribution",
    "column",
    breakdown[breakdown["district_code"] == focus],
    "indicator_label",
    "index_contribution",
    t("index.contribution.title", district=row["district_label"], round=labels[chosen]),
    y_unit=t("unit.points"),
    number_format="float2",
    data_labels=True,
)
rank_of = dict(zip(codes, this_round["rank"].tolist(), strict=True))
index_chart(
    "index_heatmap",
    "heatmap",
    breakdown.assign(rank=breakdown["district_code"].map(rank_of)).sort_values("rank"),
    "indicator_label",
    "district_label",
    t("index.heatmap.title", round=labels[chosen]),
    value="score_rate",
    number_format="percent1",
    data_labels=True,
    height=300 + 34 * len(rank_of),
)

st.subheader(t("index.trend"))
type_name = t(f"chart.round_type.{round_type}") if round_type else t("index.every_type")
since = min(context.filters.start, shift_month(context.filters.end, -(TREND_MONTHS - 1)))
index_chart(
    "index_trend",
    "line",
    ranking[ranking["round_date"] >= pd.Timestamp(since)],
    "round_date",
    "civilization_index",
    t("index.trend.title", round_type=type_name),
    series="district_label",
    y_unit=t("unit.points"),
    number_format="float1",
    drill="district_code",
)
st.caption(t("index.trend.caption", months=TREND_MONTHS))
