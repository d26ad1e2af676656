"""Shared widgets: the global filter bar, banners, empty state and KPI cards."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from civindex import reference
from civindex.deck import KpiRow
from civindex.filters import Filters
from civindex.i18n import language, t
from civindex.kpi import Card, shift_month
from civindex.ui.context import PageContext, set_filters
from civindex.ui.exports import record_card

PERIOD_KEY = "w_period"
LIST_WIDGETS = {
    "districts": "w_districts",
    "systems": "w_systems",
    "units": "w_units",
    "categories": "w_categories",
}


def _system_name(system: str) -> str:
    try:
        return t(f"system.{system}")
    except KeyError:
        return system


def _months(context: PageContext) -> list[str]:
    months, month = [], context.choices.first_month
    while month <= context.choices.last_month:
        months.append(f"{month:%Y-%m}")
        month = shift_month(month, 1)
    return months


def _on_filter_change(context: PageContext) -> None:
    start, end = st.session_state[PERIOD_KEY]
    changes = {attribute: tuple(st.session_state[key]) for attribute, key in LIST_WIDGETS.items()}
    filters = context.filters.with_(
        start=pd.Timestamp(start).date(), end=pd.Timestamp(end).date(), **changes
    )
    set_filters(filters)


def _on_language(context: PageContext) -> None:
    lang = "en" if context.filters.lang == "zh" else "zh"
    st.session_state["_lang"] = lang
    set_filters(context.filters.with_(lang=lang))


def _on_latest(context: PageContext) -> None:
    set_filters(context.filters.with_(as_of=None))


def _on_reset(context: PageContext) -> None:
    from civindex.filters import default_filters

    defaults = default_filters(context.choices)
    set_filters(defaults.with_(lang=context.filters.lang))


def filter_bar(context: PageContext) -> None:
    """Global filters in the sidebar; every change is written to the URL."""
    filters = context.filters
    lang = language()
    options = {
        "districts": reference.names("districts", lang, context.store.root),
        "systems": {s: _system_name(s) for s in context.choices.systems},
        "units": reference.names("units", lang, context.store.root),
        "categories": reference.names("categories", lang, context.store.root),
    }
    months = _months(context)
    period = (f"{filters.start:%Y-%m}", f"{filters.end:%Y-%m}")
    if st.session_state.get(PERIOD_KEY) != period:
        # Dropping the state lets the slider start again from `value`; assigning it would make
        # Streamlit warn that the widget has both a default and a Session State value.
        st.session_state.pop(PERIOD_KEY, None)
    for attribute, key in LIST_WIDGETS.items():
        st.session_state[key] = list(getattr(filters, attribute))
    with st.sidebar:
        st.button(t("app.language"), on_click=_on_language, args=(context,), key="w_lang")
        if len(months) > 1:
            st.select_slider(
                t("filter.period"),
                options=months,
                # A range value makes it a range slider; without one Streamlit reads the two
                # months the browser sends back as a single value and falls back to the first.
                value=period,
                key=PERIOD_KEY,
                on_change=_on_filter_change,
                args=(context,),
            )
        for attribute, key in LIST_WIDGETS.items():
            names = options[attribute]
            st.multiselect(
                t(f"filter.{attribute}"),
                options=list(names),
                format_func=lambda code, names=names: names.get(code, code),
                key=key,
                on_change=_on_filter_change,
                args=(context,),
                placeholder=t("filter.all"),
            )
        st.button(t("filter.reset"), on_click=_on_reset, args=(context,), key="w_reset")
        if filters.as_of:
            st.caption(t("banner.as_of", as_of=f"{filters.as_of:%Y-%m-%d %H:%M}"))
            st.button(t("filter.latest"), on_click=_on_latest, args=(context,), key="w_latest")


def banners(context: PageContext) -> None:
    for name, value in context.notices:
        st.warning(t("filter.ignored", name=name, value=value), icon=":material/warning:")
    if context.filters.as_of:
        st.info(
            t("banner.as_of", as_of=f"{context.filters.as_of:%Y-%m-%d %H:%M %Z}"),
            icon=":material/history:",
        )
    if context.demo_rows:
        st.warning(t("banner.demo"), icon=":material/science:")


def empty_state() -> None:
    st.info(f"**{t('empty.title')}**\n\n{t('empty.body')}", icon=":material/inbox:")


def format_value(card: Card, unit: str = "") -> str:
    if card.value is None:
        return "—"
    if card.is_rate and card.key != "civilization_index":
        return f"{card.value:.1%}"
    if card.key == "civilization_index":
        return f"{card.value:.2f}"
    return f"{card.value:,.0f}{unit}"


def format_change(change: float | None, is_rate: bool, points_unit: str = "pp") -> str | None:
    if change is None:
        return None
    if is_rate:
        return f"{change * 100:+.1f}{points_unit}" if abs(change) < 1 else f"{change:+.2f}"
    return f"{change:+.1%}"


def kpi_card(card: Card, unit: str = "", help_text: str | None = None) -> None:
    """One metric: value, 同比 as the delta, 环比 and n / interval / target in the caption."""
    is_index = card.key == "civilization_index"
    if is_index:
        yoy = f"{card.mom:+.2f}" if card.mom is not None else None
        delta_label = t("kpi.vs_previous_round")
    else:
        yoy = format_change(card.yoy, card.is_rate)
        delta_label = t("kpi.yoy")
    st.metric(
        t(f"kpi.{card.key}"),
        format_value(card, unit),
        delta=yoy,
        delta_description=delta_label if yoy else None,
        # Fewer units on the warning list is the good direction.
        delta_color="inverse" if card.key == "warning_units" else "normal",
        help=help_text,
        border=True,
    )
    notes = []
    if not is_index:
        mom = format_change(card.mom, card.is_rate)
        if mom:
            notes.append(f"{t('kpi.mom')} {mom}")
    if card.n is not None:
        notes.append(t("kpi.n", n=f"{card.n:,}"))
    if card.low is not None and card.high is not None:
        notes.append(t("kpi.interval", low=f"{card.low:.1%}", high=f"{card.high:.1%}"))
    if card.target is not None:
        notes.append(t("kpi.target", target=f"{card.target:.0%}"))
    if card.label:
        notes.append(t("kpi.round_of", round=card.label))
    if notes:
        st.caption(" · ".join(notes))
    if card.is_small_sample:
        st.caption(f"⚠️ {t('kpi.small_sample')}")
    note_parts = [n for n in notes if not n.startswith(t("kpi.mom"))]
    record_card(
        KpiRow(
            label=t(f"kpi.{card.key}"),
            value=format_value(card, unit),
            yoy=(yoy or "") if not is_index else f"{t('kpi.vs_previous_round')} {yoy or ''}",
            mom=format_change(card.mom, card.is_rate) or "" if not is_index else "",
            note=" · ".join(note_parts),
        )
    )


def current_filters(context: PageContext) -> Filters:
    return context.filters
