"""Entry point: page config, context (filters, snapshot, language), navigation, banners."""

import streamlit as st

from civindex.i18n import t
from civindex.ui import opening, present
from civindex.ui.access import account_box, current_actor
from civindex.ui.context import build_context
from civindex.ui.exports import START_PAGE_KEY, export_bar, reset
from civindex.ui.widgets import banners, filter_bar

st.set_page_config(
    page_title="文明城市共建指数看板", page_icon=":material/location_city:", layout="wide"
)

context = build_context()
actor, access_mode = current_actor(context.store.root)
st.session_state["_civindex_actor_now"] = actor

# The deck command starts a headless run on the page it exports; a browser starts on 总览.
start_page = st.session_state.get(START_PAGE_KEY, "pages/overview.py")


paths: dict[int, str] = {}  # st.navigation returns one of the pages it was given


def page(path: str, title_key: str, icon: str) -> st.Page:
    built = st.Page(path, title=t(title_key), icon=icon, default=path == start_page)
    paths[id(built)] = path
    return built


pages = {
    t("nav.group.view"): [
        page("pages/overview.py", "page.overview", ":material/dashboard:"),
        page("pages/participation.py", "page.participation", ":material/groups:"),
        page("pages/satisfaction.py", "page.satisfaction", ":material/thumb_up:"),
        page("pages/index_results.py", "page.index", ":material/leaderboard:"),
        page("pages/unit_profile.py", "page.unit_profile", ":material/badge:"),
        page("pages/district_profile.py", "page.district_profile", ":material/map:"),
        page("pages/warnings.py", "page.warnings", ":material/notification_important:"),
    ],
}
if actor.can("analyst"):
    pages[t("nav.group.data")] = [
        page("pages/upload.py", "upload.page", ":material/upload_file:"),
        page("pages/snapshots.py", "snapshots.page", ":material/history:"),
    ]
if actor.can("admin"):
    pages[t("nav.group.admin")] = [
        page("pages/admin.py", "page.admin", ":material/admin_panel_settings:"),
    ]
current_page = st.navigation(
    pages,
    position="hidden"
    if context.filters.present or START_PAGE_KEY in st.session_state
    else "sidebar",
)
# DuckDB answers the page's first queries while the sidebar and banners are drawn.
opening.start(context, paths.get(id(current_page), ""))
present.apply(context.filters.present)
if not context.filters.present:
    account_box(context.store.root, actor, access_mode)
    filter_bar(context)
banners(context)
reset()
current_page.run()
export_bar(context, current_page.title)
