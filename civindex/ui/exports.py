"""What a page shows, collected during its run, and the exports built from it.

`show()` and `kpi_card()` record each chart spec and KPI card as the page draws them; after the
page ran, `assemble` turns them into a `Deck` kept in session state. The deck (PPTX with native
charts) and the data (XLSX, a sheet per chart) are therefore exactly what the page showed. The
`deck` command runs the same page headlessly and takes the same Deck.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from civindex import audit, export
from civindex import deck as decks
from civindex.charts.spec import ChartSpec
from civindex.i18n import t
from civindex.ui.context import PageContext

SPECS_KEY = "_civindex_specs"
CARDS_KEY = "_civindex_cards"
DECK_KEY = "_civindex_deck"
START_PAGE_KEY = "_civindex_start_page"


def reset() -> None:
    st.session_state[SPECS_KEY] = []
    st.session_state[CARDS_KEY] = []
    st.session_state.pop(DECK_KEY, None)


def record_spec(spec: ChartSpec) -> None:
    specs = st.session_state.setdefault(SPECS_KEY, [])
    specs[:] = [s for s in specs if s.key != spec.key]
    specs.append(spec)


def record_card(row: decks.KpiRow) -> None:
    st.session_state.setdefault(CARDS_KEY, []).append(row)


def assemble(context: PageContext, page_title: str) -> decks.Deck:
    from civindex.ui.charts import footnote, subtitle

    filters = context.filters
    as_of = f"{filters.as_of:%Y-%m-%d %H:%M}" if filters.as_of else t("export.latest")
    meta = [
        t("export.filters", filters=subtitle(context)),
        t("export.snapshot", versions=context.versions_label, as_of=as_of),
        t("export.generated", at=f"{datetime.now():%Y-%m-%d %H:%M}"),
        footnote(context).split("\n")[0],
    ]
    deck = decks.Deck(
        title=f"{t('app.title')} · {page_title}",
        subtitle=subtitle(context),
        meta_lines=meta,
        kpi_title=t("export.kpi_title", page=page_title),
        kpi_headers=(
            t("export.kpi"),
            t("export.value"),
            t("kpi.yoy"),
            t("kpi.mom"),
            t("export.note"),
        ),
        kpis=list(st.session_state.get(CARDS_KEY, [])),
        charts=list(st.session_state.get(SPECS_KEY, [])),
        demo_notice=t("banner.demo") if context.demo_rows else "",
    )
    st.session_state[DECK_KEY] = deck
    return deck


def audited(root, user: str, kind: str, file_name: str, build):
    """`build`, wrapped to leave an audit line when it runs: on the click, not on the render."""

    def run() -> bytes:
        content = build()
        audit.record(root, f"export.{kind}", user, file=file_name, outcome="done")
        return content

    return run


def file_stem(context: PageContext, page_title: str) -> str:
    filters = context.filters
    stem = f"{page_title}_{filters.start:%Y%m}-{filters.end:%Y%m}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)


def export_bar(context: PageContext, page_title: str) -> None:
    """Download buttons for the deck and the page's data, built only when clicked."""
    deck = assemble(context, page_title)
    if not deck.charts and not deck.kpis:
        return
    stem = file_stem(context, page_title)
    sheets = {spec.title: spec.data for spec in deck.charts}
    columns = st.columns([1, 1, 4]) if not context.filters.present else None
    if columns is None:
        return
    user = getattr(st.session_state.get("_civindex_actor_now"), "name", "anonymous")
    root = context.store.root
    with columns[0]:
        st.download_button(
            t("export.deck"),
            data=audited(root, user, "deck", f"{stem}.pptx", lambda: decks.build(deck)),
            file_name=f"{stem}.pptx",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            icon=":material/slideshow:",
            on_click="ignore",
            key="w_export_deck",
        )
    with columns[1]:
        st.download_button(
            t("export.xlsx"),
            data=audited(root, user, "xlsx", f"{stem}.xlsx", lambda: export.to_xlsx_bytes(sheets)),
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:",
            on_click="ignore",
            key="w_export_xlsx",
        )
