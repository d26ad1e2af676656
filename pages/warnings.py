"""预警名单 Warnings: the seed's incentive mechanism. Units below the satisfaction target for
consecutive months, units whose activities fell sharply, department-level units with no task
claimed this year; each row with its evidence and a link to the unit's profile."""

import pandas as pd
import streamlit as st

from civindex import reference, warnings
from civindex.charts.spec import Target
from civindex.i18n import language, t
from civindex.schema import SATISFACTION_TARGET
from civindex.ui import opening
from civindex.ui.charts import subtitle, with_names
from civindex.ui.context import current
from civindex.ui.views import chart, escape, profile_link
from civindex.ui.widgets import empty_state, kpi_card

context = current()
st.title(t("warnings.heading"))
if not context.has_data:
    empty_state()
    st.stop()

# dashboard.py has started this page's queries (civindex/ui/opening.py).
month = context.filters.end
month_windows = opening.month_windows(context)
found = warnings.collect(context.run)
unit_names = reference.names("units", language(), context.store.root)
st.caption(t("warnings.intro", month=f"{month:%Y-%m}"))
kpi_card(warnings.count_card(context.run, month), "", t("kpi.warning_units.help"))
sub = subtitle(context, ignore=("categories",))


def unit_row(code: str, evidence: str) -> None:
    """One warned unit: its name linking to the profile (filters kept), then the evidence."""
    page, query = profile_link(context, "unit_code", code)
    name_column, evidence_column = st.columns([1, 3], vertical_alignment="center")
    with name_column:
        st.page_link(
            page, label=unit_names.get(code, code), query_params=query, icon=":material/badge:"
        )
    evidence_column.markdown(evidence)


def lowest_windows(codes: list[str]) -> dict[str, str]:
    """code -> the unit's lowest-rated window in the last month, the usual 'why'."""
    if not codes:
        return {}
    windows = context.run("profile_windows", **month_windows)
    windows = windows[windows["unit_code"].isin(codes)]
    windows["is_small_sample"] = windows["responses"] < warnings.MIN_RESPONSES
    order = ["is_small_sample", "satisfaction_rate", "responses"]
    lowest = windows.sort_values(order).drop_duplicates("unit_code")
    return {
        row.unit_code: t(
            "warnings.evidence.window",
            window=escape(row.window_name or "—"),
            rate=f"{row.satisfaction_rate:.1%}",
            n=f"{int(row.responses):,}",
        )
        for row in lowest.itertuples()
    }


def satisfaction_rows(frame: pd.DataFrame) -> None:
    why = lowest_windows(sorted(set(frame["unit_code"])))
    for code, months in frame.groupby("unit_code", sort=False):
        evidence = warnings.satisfaction_evidence(months)
        unit_row(code, f"{evidence}  \n{why[code]}" if code in why else evidence)


rules = {
    "satisfaction": (
        t("warnings.rule.satisfaction", months=warnings.BELOW_TARGET_MONTHS, target="95%"),
        t("warnings.rule.satisfaction.help", n=warnings.MIN_RESPONSES),
    ),
    "participation": (
        t("warnings.rule.participation", drop=f"{warnings.PARTICIPATION_DROP:.0%}"),
        t("warnings.rule.participation.help", months=warnings.ACTIVITY_WINDOW_MONTHS),
    ),
    "claims": (
        t("warnings.rule.claims"),
        t("warnings.rule.claims.help", year=month.year, month=f"{month:%Y-%m}"),
    ),
}
for rule, (heading, explanation) in rules.items():
    rows = found.rule(rule)
    st.subheader(t("warnings.with_count", text=heading, count=rows["unit_code"].nunique()))
    st.caption(explanation)
    if rows.empty:
        st.success(t("warnings.none"), icon=":material/check_circle:")
    elif rule == "satisfaction":
        satisfaction_rows(rows)
        shown = with_names(rows, context)
        chart(
            context,
            "warnings_satisfaction",
            "column",
            shown.assign(month=pd.to_datetime(shown["period_month"]).dt.strftime("%Y-%m")),
            "unit_label",
            "satisfaction_rate",
            t("warnings.chart.satisfaction", months=warnings.BELOW_TARGET_MONTHS),
            subtitle=sub,
            series="month",
            number_format="percent1",
            target=Target(SATISFACTION_TARGET, t("chart.target")),
            data_labels=True,
            error_low="rate_low",
            error_high="rate_high",
            n="responses",
            drill="unit_code",
            labels={"month": t("label.month")},
        )
    elif rule == "participation":
        for row in rows.itertuples():
            unit_row(row.unit_code, warnings.participation_evidence(row))
    else:
        for row in rows.itertuples():
            unit_row(row.unit_code, warnings.claims_evidence(row))

watch = found.watch
if not watch.empty:
    watch_title = t("warnings.watch", month=f"{month:%Y-%m}", months=warnings.BELOW_TARGET_MONTHS)
    with st.expander(
        t("warnings.with_count", text=watch_title, count=watch["unit_code"].nunique()),
        expanded=True,
    ):
        satisfaction_rows(watch)
