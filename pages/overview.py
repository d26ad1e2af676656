"""总览 Overview: the KPI cards a leader reads first."""

import streamlit as st

from civindex import kpi
from civindex.i18n import t
from civindex.kpi import shift_month
from civindex.ui.context import current
from civindex.ui.widgets import empty_state, kpi_card

context = current()
st.title(t("overview.heading"))
st.caption(t("app.subtitle"))

if not context.has_data:
    empty_state()
    st.stop()

month = context.filters.end
wide = {"start": shift_month(month, -13)}
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
