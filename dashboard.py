"""Entry point: page config, context (filters, snapshot, language), navigation, banners."""

import streamlit as st

from civindex.i18n import t
from civindex.ui.context import build_context
from civindex.ui.widgets import banners, filter_bar

st.set_page_config(
    page_title="文明城市共建指数看板", page_icon=":material/location_city:", layout="wide"
)

context = build_context()

pages = {
    t("nav.group.view"): [
        st.Page(
            "pages/overview.py", title=t("page.overview"), icon=":material/dashboard:", default=True
        ),
    ],
}
page = st.navigation(pages)
filter_bar(context)
banners(context)
page.run()
