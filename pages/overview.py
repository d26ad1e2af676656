"""总览 Overview: the KPI cards a leader reads first, then the trends and the 红黑榜."""

import pandas as pd
import streamlit as st

from civindex import kpi, warnings
from civindex.charts.spec import ChartSpec, Target
from civindex.i18n import t
from civindex.kpi import shift_month
from civindex.schema import SATISFACTION_TARGET
from civindex.ui import opening
from civindex.ui.charts import footnote, show, subtitle, with_names
from civindex.ui.context import current
from civindex.ui.widgets import empty_state, kpi_card

BOARD_SIZE = 10
INDEX_TREND_MONTHS = 24

context = current()
st.title(t("overview.heading"))
st.caption(t("app.subtitle"))

if not context.has_data:
    empty_state()
    st.stop()

# dashboard.py has started this page's queries (civindex/ui/opening.py).
month = context.filters.end
wide = opening.trend_months(context)
participation = context.run("participation_monthly", **wide)
satisfaction = context.run("satisfaction_monthly", **wide)
claims = context.run("claim_rate_by_year")
claims_previous_month = context.run("claim_rate_by_year", end=shift_month(month, -1))
rounds = context.run("index_by_round", start=context.choices.first_month)

cards = [
    (kpi.claim_rate_card(claims, month, claims_previous_month), "", t("kpi.claim_rate.help")),
    (
        kpi.monthly_card(participation, month, "participating_units", "participating_units"),
        "",
        None,
    ),
    (kpi.monthly_card(participation, month, "activities", "activities"), "", None),
    (kpi.monthly_card(participation, month, "participants", "participants"), "", None),
    (kpi.monthly_card(participation, month, "volunteer_hours", "volunteer_hours"), "", None),
    (kpi.satisfaction_card(satisfaction, month), "", None),
    (kpi.index_card(rounds), "", None),
    (warnings.count_card(context.run, month), "", t("kpi.warning_units.help")),
]

st.subheader(t("overview.kpis"))
st.caption(t("kpi.month_of", month=f"{month:%Y-%m}"))
for row_start in range(0, len(cards), 4):
    columns = st.columns(4)
    for column, (card, unit, help_text) in zip(
        columns, cards[row_start : row_start + 4], strict=False
    ):
        with column:
            kpi_card(card, unit, help_text)

sub, note = subtitle(context), footnote(context)
st.subheader(t("overview.trends"))
by_category = with_names(context.run("participation_by_category_monthly"), context)
show(
    ChartSpec(
        key="overview_category_trend",
        kind="stacked_column",
        data=by_category,
        x="period_month",
        y="activities",
        series="category_label",
        title=t("overview.category_trend"),
        subtitle=sub,
        footnote=note,
        labels={"period_month": t("label.month"), "activities": t("label.activities")},
        y_unit=t("unit.times"),
    ),
    context,
)
show(
    ChartSpec(
        key="overview_satisfaction_trend",
        kind="line",
        data=context.run("satisfaction_monthly"),
        x="period_month",
        y="satisfaction_rate",
        title=t("overview.satisfaction_trend"),
        subtitle=subtitle(context, ignore=("categories",)),
        footnote=note,
        labels={
            "period_month": t("label.month"),
            "satisfaction_rate": t("label.satisfaction_rate"),
            "responses": t("label.responses"),
        },
        number_format="percent1",
        target=Target(SATISFACTION_TARGET, t("chart.target")),
        data_labels=True,
        error_low="rate_low",
        error_high="rate_high",
        n="responses",
    ),
    context,
)
st.caption(t("overview.satisfaction.caption"))

if not rounds.empty:
    round_type = str(rounds.iloc[-1]["round_type"])
    trend_start = min(context.filters.start, shift_month(month, -(INDEX_TREND_MONTHS - 1)))
    by_district = context.run("index_district_ranking", round_type="")
    by_district = by_district[
        (by_district["round_type"] == round_type)
        & (by_district["round_date"] >= pd.Timestamp(trend_start))
    ]
    by_district = with_names(by_district.reset_index(drop=True), context)
    show(
        ChartSpec(
            key="overview_index_trend",
            kind="line",
            data=by_district,
            x="round_date",
            y="civilization_index",
            series="district_label",
            title=t("overview.index_trend", round_type=t(f"chart.round_type.{round_type}")),
            subtitle=subtitle(context, ignore=("systems", "units", "categories")),
            footnote=note,
            labels={
                "round_date": t("label.round_date"),
                "civilization_index": t("label.civilization_index"),
            },
            y_unit=t("unit.points"),
            number_format="float1",
            drill="district_code",
        ),
        context,
    )
    st.caption(t("overview.index_trend.caption", months=INDEX_TREND_MONTHS))

st.subheader(t("overview.boards"))
board = with_names(context.run("unit_scoreboard"), context)
boards = {"red": board.head(BOARD_SIZE), "black": board.tail(BOARD_SIZE).iloc[::-1]}
for key, rows in boards.items():
    show(
        ChartSpec(
            key=f"overview_{key}_board",
            kind="bar",
            data=rows,
            x="unit_label",
            y="score",
            title=t(f"overview.{key}_board", n=len(rows)),
            subtitle=sub,
            footnote=note,
            labels={"unit_label": t("label.unit"), "score": t("label.score")},
            y_unit=t("unit.points"),
            number_format="float1",
            value_range=(0, 100),
            data_labels=True,
            drill="unit_code",
            height=200 + 30 * len(rows),
        ),
        context,
    )
st.caption(t("overview.board.caption", units=len(board)))
