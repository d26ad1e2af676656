"""Building blocks of the index, profile and warnings pages: a chart with the page's subtitle
and footnote, a table whose rows open a profile, the profile's focus picker kept in the URL,
a metric recorded for the exports, and round labels."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from civindex.charts.spec import ChartSpec
from civindex.deck import KpiRow
from civindex.i18n import language, t
from civindex.ranking import rank_change_label
from civindex.ui.charts import PROFILE_PAGES, footnote, show, subtitle
from civindex.ui.context import PageContext
from civindex.ui.exports import record_card

DRILL_COLUMNS = {"unit_code": "unit", "district_code": "district"}
MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|<>~$"
LABEL_KEYS = {
    "period_month": "label.month",
    "unit_label": "label.unit",
    "district_label": "label.district",
    "category_label": "label.category",
    "window_name": "label.window",
    "round_date": "label.round_date",
    "activities": "label.activities",
    "participants": "label.participants",
    "tasks_claimed": "label.tasks_claimed",
    "tasks_completed": "label.tasks_completed",
    "satisfaction_rate": "label.satisfaction_rate",
    "responses": "label.responses",
    "civilization_index": "label.civilization_index",
}


def axis_labels(**extra: str) -> dict[str, str]:
    return {column: t(key) for column, key in LABEL_KEYS.items()} | extra


def chart(
    context: PageContext,
    key: str,
    kind: str,
    data: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    **options,
) -> None:
    """A chart in the house style with this page's filters as subtitle and the usual footnote."""
    options = {"subtitle": subtitle(context), "footnote": footnote(context)} | options
    options["labels"] = axis_labels() | options.get("labels", {})
    show(ChartSpec(key=key, kind=kind, data=data, x=x, y=y, title=title, **options), context)


def escape(text: str) -> str:
    """Uploaded text (a window name) shown in markdown as the plain text it is."""
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in str(text))


def fill_months(
    frame: pd.DataFrame, context: PageContext, series: str | None, values: list[str]
) -> pd.DataFrame:
    """Every month of the period (for every series), zero where nothing happened, so a sparse
    unit's columns stay in calendar order and empty months show as empty."""
    months = pd.date_range(context.filters.start, context.filters.end, freq="MS")
    keys = ["period_month"] + ([series] if series else [])
    names = [months, frame[series].drop_duplicates()] if series else [months]
    grid = pd.MultiIndex.from_product(names, names=keys)
    frame = frame.assign(period_month=pd.to_datetime(frame["period_month"]))
    filled = frame.set_index(keys)[values].reindex(grid, fill_value=0)
    return filled.reset_index()


def profile_link(context: PageContext, column: str, code: str) -> tuple[str, dict]:
    """The page and query string that open the profile of `code` with the filters kept."""
    page, key = PROFILE_PAGES[DRILL_COLUMNS[column]]
    return page, context.filters.to_query() | {key: code}


def profile_table(
    context: PageContext, frame: pd.DataFrame, drill: str, columns: dict, key: str
) -> None:
    """`columns` maps a column of `frame` to its label or st.column_config; the row a user
    selects opens the profile named by its `drill` column (unit_code or district_code)."""
    shown = [c for c in columns if c in frame] + ([drill] if drill not in columns else [])
    event = st.dataframe(
        frame[shown],
        column_order=list(columns),
        column_config=columns,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
    )
    st.caption(t("drill.table_hint"))
    rows = event.selection.rows if event else []
    if rows:
        page, query = profile_link(context, drill, str(frame.iloc[rows[0]][drill]))
        st.switch_page(page, query_params=query)


def _unique_names(options: dict[str, str]) -> dict[str, str]:
    """code -> shown name, made unique; a picker shows names so that AppTest reads it too."""
    seen: dict[str, int] = {}
    for name in options.values():
        seen[name] = seen.get(name, 0) + 1
    return {code: name if seen[name] == 1 else f"{name} ({code})" for code, name in options.items()}


def pick(label: str, options: dict[str, str], key: str, default: str | None = None) -> str:
    """A selectbox over `options` (code -> name) that returns the chosen code."""
    names = _unique_names(options)
    codes = {name: code for code, name in names.items()}
    if st.session_state.get(key) not in codes:
        st.session_state.pop(key, None)
    start = list(options).index(default) if default in options else 0
    chosen = st.selectbox(label, list(codes), index=start, key=key)
    return codes.get(chosen, next(iter(options)))


def _on_focus(key: str, codes: dict[str, str]) -> None:
    code = codes[st.session_state[f"w_{key}"]]
    st.session_state[f"_focus_{key}"] = code
    st.query_params[key] = code


def focus_picker(key: str, options: dict[str, str], default: str, label: str) -> str:
    """The profile's subject: `?key=` in the URL, else the last one viewed, else `default`;
    the picker writes its choice back to the URL so a copied link opens the same profile."""
    remembered = st.session_state.get(f"_focus_{key}")
    asked = st.query_params.get(key)
    if asked is not None and asked not in options:
        st.warning(t("filter.ignored", name=key, value=asked), icon=":material/warning:")
    focus = next(c for c in (asked, remembered, default) if c in options)
    st.session_state[f"_focus_{key}"] = focus
    if asked != focus:
        st.query_params[key] = focus
    names = _unique_names(options)
    st.session_state[f"w_{key}"] = names[focus]
    st.selectbox(
        label,
        list(names.values()),
        key=f"w_{key}",
        on_change=_on_focus,
        args=(key, {name: code for code, name in names.items()}),
    )
    return focus


def metric(label: str, value: str, delta: str | None = None, note: str = "") -> None:
    """A figure of a profile, recorded for the page's deck and data export like a KPI card."""
    st.metric(label, value, delta=delta, border=True)
    if note:
        st.caption(note)
    record_card(KpiRow(label=label, value=value, yoy="", mom=delta or "", note=note))


def round_labels(rounds: pd.DataFrame) -> dict[str, str]:
    """round_name -> what to show: the name in Chinese; type and date in English (round names
    are data, written in Chinese). A round may have many rows (one per district)."""
    names = rounds["round_name"].tolist()
    if language() == "zh":
        return dict(zip(names, names, strict=True))
    kinds_days = zip(rounds["round_type"].tolist(), rounds["round_date"].tolist(), strict=True)
    return {
        name: f"{t(f'chart.round_type.{kind}').capitalize()} {pd.Timestamp(day):%Y-%m-%d}"
        for name, (kind, day) in dict(zip(names, kinds_days, strict=True)).items()
    }


def ranking_columns(first: dict) -> dict:
    """Columns of a ranking table (index, change, rank, ↑/↓) after the `first` ones."""
    return first | {
        "civilization_index": st.column_config.NumberColumn(
            t("label.civilization_index"), format="%.2f"
        ),
        "index_change": st.column_config.NumberColumn(t("index.index_change"), format="%+.2f"),
        "rank": t("index.rank"),
        "rank_move": t("index.rank_change"),
    }


def explain_change(name: str, row: pd.Series, driver: pd.Series, indicators: dict) -> None:
    """One sentence: the district's index, its change and rank move, and what drove it."""
    st.markdown(
        t(
            "index.driver_sentence",
            district=name,
            index=f"{row['civilization_index']:.2f}",
            change=f"{row['index_change']:+.2f}",
            rank=int(row["rank"]),
            move=rank_change_label(row["rank_change"]),
            indicator=indicators[driver["driver_code"]],
            points=f"{driver['driver_points']:+.2f}",
        )
    )
