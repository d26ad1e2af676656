"""单位画像 Unit profile: one unit — participation by category, claims and completion,
satisfaction against the 95% target with n, its windows, its rank among units and the warnings
it is on. Opened from any chart or table (?focus_unit=code) or with the picker."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from civindex import reference, warnings
from civindex.charts.spec import Target
from civindex.i18n import language, t
from civindex.ranking import rank_change_label
from civindex.schema import SATISFACTION_TARGET, SMALL_SAMPLE
from civindex.ui.charts import subtitle, system_name, with_names
from civindex.ui.context import current
from civindex.ui.views import chart, fill_months, focus_picker, metric
from civindex.ui.widgets import empty_state

TASKS = ["tasks_claimed", "tasks_completed"]
context = current()
root = context.store.root
names = reference.names("units", language(), root)
default = context.filters.units[0] if context.filters.units else next(iter(names))
focus = focus_picker("focus_unit", names, default, t("profile.unit.pick"))
unit = reference.load("units", root).set_index("unit_code").loc[focus]
st.title(t("profile.unit.heading", name=names[focus]))
district_names = reference.names("districts", language(), root)
facts = [
    unit["unit_name_en"] if language() == "en" else unit["unit_name"],
    system_name(unit["unit_system"]),
    t("profile.unit.department") if unit["is_department_level"] else "",
    t("profile.unit.paired", district=district_names.get(unit["paired_district_code"], "—")),
    t(f"profile.honour.{unit['honour_level']}") if unit["honour_level"] else "",
    t("profile.unit.window") if unit["has_service_window"] else "",
]
st.caption(" · ".join(fact for fact in facts if fact))
if not context.has_data:
    empty_state()
    st.stop()

own = replace(context, filters=context.filters.with_(units=(focus,), systems=()))
own_queries = ["participation_by_category_monthly", "participation_monthly"]
if unit["has_service_window"]:  # else its satisfaction shows only if it has responses after all
    own_queries += ["satisfaction_monthly", "profile_windows"]
context.prefetch(
    ("unit_ranking", {"systems": []}),
    *warnings.requests(units=[focus], districts=[], systems=[]),
    also=own.queries(*own_queries),
)
sub = subtitle(own)
ranked = context.run("unit_ranking", systems=[])
me = ranked.set_index("unit_code").loc[focus]
found = warnings.collect(context.run, units=[focus], districts=[], systems=[])
on_list = [rule for rule in warnings.RULES if not found.rule(rule).empty]

columns = st.columns(5)
with columns[0]:
    change = me["activities"] / me["previous_activities"] - 1 if me["previous_activities"] else None
    metric(
        t("label.activities"),
        f"{me['activities']:,.0f}",
        f"{change:+.1%}" if change is not None else None,
        t(
            "profile.rank",
            rank=int(me["activity_rank"]),
            of=int(me["units_ranked"]),
            move=rank_change_label(me["activity_rank_change"]),
        ),
    )
with columns[1]:
    metric(t("label.participants"), f"{me['participants']:,.0f}")
with columns[2]:
    completion = me["completion_rate"]
    metric(
        t("profile.claims"),
        f"{me['tasks_claimed']:,.0f} / {me['tasks_completed']:,.0f}",
        note=t("profile.completion", rate="—" if pd.isna(completion) else f"{completion:.0%}"),
    )
with columns[3]:
    rate = me["satisfaction_rate"]
    notes = [t("kpi.n", n=f"{int(me['responses']):,}")]
    if not pd.isna(rate):
        notes.append(t("kpi.interval", low=f"{me['rate_low']:.1%}", high=f"{me['rate_high']:.1%}"))
    if not pd.isna(me["satisfaction_rank"]):
        notes.append(
            t("profile.rank_plain", rank=int(me["satisfaction_rank"]), of=int(me["units_rated"]))
        )
    elif me["responses"] < SMALL_SAMPLE and me["responses"] > 0:
        notes.append(t("kpi.small_sample"))
    metric(
        t("label.satisfaction_rate"),
        "—" if pd.isna(rate) else f"{rate:.1%}",
        None,
        " · ".join(notes),
    )
with columns[4]:
    metric(t("profile.warnings"), str(len(on_list)), note=t("profile.warnings.note"))
st.caption(t("profile.rank.caption"))

st.subheader(t("profile.warnings"))
if not on_list:
    st.success(t("profile.not_warned"), icon=":material/check_circle:")
for rule in on_list:
    rows = found.rule(rule)
    if rule == "satisfaction":
        evidence = warnings.satisfaction_evidence(rows)
    elif rule == "participation":
        evidence = warnings.participation_evidence(rows.iloc[0])
    else:
        evidence = warnings.claims_evidence(rows.iloc[0])
    heading = t(
        f"warnings.rule.{rule}",
        months=warnings.BELOW_TARGET_MONTHS,
        target=f"{SATISFACTION_TARGET:.0%}",
        drop=f"{warnings.PARTICIPATION_DROP:.0%}",
    )
    st.error(f"**{heading}**  \n{evidence}", icon=":material/warning:")

st.subheader(t("profile.participation"))
by_category = own.run("participation_by_category_monthly")
by_category = with_names(fill_months(by_category, own, "category_code", ["activities"]), context)
chart(
    context,
    "unit_activities",
    "stacked_column",
    by_category,
    "period_month",
    "activities",
    t("profile.unit.activities", name=names[focus]),
    subtitle=sub,
    series="category_label",
    y_unit=t("unit.times"),
)
monthly = fill_months(own.run("participation_monthly"), own, None, TASKS)
claims = monthly.melt("period_month", TASKS, "measure", "tasks")
chart(
    context,
    "unit_claims",
    "column",
    claims.assign(measure=claims["measure"].map(lambda c: t(f"label.{c}"))),
    "period_month",
    "tasks",
    t("profile.unit.claims", name=names[focus]),
    subtitle=sub,
    series="measure",
    y_unit=t("unit.tasks"),
    labels={"tasks": t("profile.tasks")},
)

st.subheader(t("profile.satisfaction"))
if not me["responses"] and not unit["has_service_window"]:
    st.info(t("profile.unit.no_window"), icon=":material/info:")
    st.stop()
target = Target(SATISFACTION_TARGET, t("chart.target"))
rate_options = dict(
    number_format="percent1", target=target, error_low="rate_low", error_high="rate_high"
)
chart(
    context,
    "unit_satisfaction",
    "line",
    own.run("satisfaction_monthly"),
    "period_month",
    "satisfaction_rate",
    t("profile.unit.satisfaction", name=names[focus]),
    subtitle=subtitle(own, ignore=("categories",)),
    n="responses",
    data_labels=True,
    **rate_options,
)
windows = own.run("profile_windows")
chart(
    context,
    "unit_windows",
    "bar",
    windows,
    "window_name",
    "satisfaction_rate",
    t("profile.unit.windows", name=names[focus]),
    subtitle=subtitle(own, ignore=("categories",)),
    n="responses",
    data_labels=True,
    height=200 + 40 * max(len(windows), 1),
    **rate_options,
)
