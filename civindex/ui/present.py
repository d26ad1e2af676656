"""Presentation mode (`?present=1`): no sidebar, toolbar or header; wide charts, larger type,
for clean 16:9 screenshots. The CSS is a constant of this module, never built from input."""

import streamlit as st

PRESENTATION_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"], [data-testid="stSidebarNav"], footer { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"] {
    padding-top: 1.2rem !important; max-width: 1600px !important;
}
html, body, [data-testid="stAppViewContainer"] { font-size: 18px; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
</style>
"""


def apply(present: bool) -> None:
    if present:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
