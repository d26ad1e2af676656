"""Entry point: page config, context (filters, snapshot, language), navigation, banners."""

import streamlit as st

from civindex.i18n import t
from civindex.ui import present
from civindex.ui.access import account_box, current_actor
from civindex.ui.context import build_context
from civindex.ui.exports import export_bar, reset
from civindex.ui.widgets import banners, filter_bar

st.set_page_config(
    page_title="文明城市共建指数看板", page_icon=":material/location_city:", layout="wide"
)

context = build_context()
actor, access_mode = current_actor(context.store.root)
st.session_state["_civindex_actor_now"] = actor

pages = {
    t("nav.group.view"): [
        st.Page(
            "pages/overview.py", title=t("page.overview"), icon=":material/dashboard:", default=True
        ),
        st.Page("pages/participation.py", title=t("page.participation"), icon=":material/groups:"),
        st.Page("pages/satisfaction.py", title=t("page.satisfaction"), icon=":material/thumb_up:"),
        st.Page("pages/index_results.py", title=t("page.index"), icon=":material/leaderboard:"),
        st.Page("pages/unit_profile.py", title=t("page.unit_profile"), icon=":material/badge:"),
        st.Page(
            "pages/district_profile.py", title=t("page.district_profile"), icon=":material/map:"
        ),
        st.Page(
            "pages/warnings.py",
            title=t("page.warnings"),
            icon=":material/notification_important:",
        ),
    ],
}
if actor.can("analyst"):
    pages[t("nav.group.data")] = [
        st.Page("pages/upload.py", title=t("upload.page"), icon=":material/upload_file:"),
        st.Page("pages/snapshots.py", title=t("snapshots.page"), icon=":material/history:"),
    ]
if actor.can("admin"):
    pages[t("nav.group.admin")] = [
        st.Page("pages/admin.py", title=t("page.admin"), icon=":material/admin_panel_settings:"),
    ]
page = st.navigation(pages, position="hidden" if context.filters.present else "sidebar")
present.apply(context.filters.present)
if not context.filters.present:
    account_box(context.store.root, actor, access_mode)
    filter_bar(context)
banners(context)
reset()
page.run()
export_bar(context, page.title)
