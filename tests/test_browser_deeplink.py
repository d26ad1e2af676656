"""A deep link opened on a freshly started server goes through dashboard.py (regression: with a
`pages/` folder Streamlit first ran /warnings on its own — no filters, no sign-in, every file
listed in an automatic menu)."""

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_first_request_to_a_deep_link_keeps_navigation_and_filters(page, demo_dir, server_factory):
    url = server_factory(demo_dir)  # a new process: nothing has called st.navigation yet
    page.goto(f"{url}/warnings?district=350102")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="预警名单").first).to_be_visible(timeout=30_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    # dashboard.py's grouped navigation, not Streamlit's file-name menu.
    expect(sidebar.get_by_text("看板", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("warnings", exact=True)).to_have_count(0)
    # The global filter bar ran and kept the URL's district.
    expect(sidebar.get_by_text("鼓楼", exact=True)).to_be_visible()
    assert "district=350102" in page.url
