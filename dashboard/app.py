"""Entry point: `streamlit run dashboard/app.py` (see `make run`). Pages live in dashboard/views/.

Access: the login gate (``dashboard.auth_ui``) runs first; with no users file the app runs in the explicit
local demo mode (shown in the sidebar)."""

from __future__ import annotations

import streamlit as st

from dashboard import components, pickers, routing, state
from dashboard.views import bao_cao, du_lieu, so_hoa, so_sanh, tien_do, tong_quan, truc_tuyen

st.set_page_config(page_title="Một Cửa KPI", page_icon=":material/account_balance:", layout="wide",
                   initial_sidebar_state="auto")

PAGES = [
    st.Page(tong_quan.render, title=tong_quan.TITLE, icon=":material/dashboard:", url_path=tong_quan.URL_PATH,
            default=True),
    st.Page(tien_do.render, title="Tiến độ giải quyết", icon=":material/schedule:", url_path="tien-do"),
    st.Page(truc_tuyen.render, title="Trực tuyến & mức độ DVC", icon=":material/language:", url_path="truc-tuyen"),
    st.Page(so_hoa.render, title="Số hóa & thanh toán", icon=":material/scanner:", url_path="so-hoa"),
    st.Page(so_sanh.render, title="So sánh đơn vị", icon=":material/leaderboard:", url_path="so-sanh"),
    st.Page(bao_cao.render, title="Báo cáo", icon=":material/description:", url_path="bao-cao"),
    st.Page(du_lieu.render, title="Dữ liệu", icon=":material/database:", url_path="du-lieu"),
]

# Tổng quan is served at "/"; its own name (/tong-quan?…, in links and bookmarks) opens it too.
routing.open_default_page_by_name(tong_quan.URL_PATH)
state.begin_run()
sidebar = state.sidebar_slot()  # filled after sign-in, shown above the login gate's account box
# Sign-in before navigation: nothing (no page, no URL parameter, no query) runs for a visitor who is not
# signed in. The user is kept for this run in session state; pages read it via state.current_user().
user = state.sign_in()
if user is None:
    st.navigation(PAGES, position="hidden")  # keeps a shared link's page for after the login; runs nothing
    st.stop()
page = st.navigation(PAGES, position="sidebar")
pickers.render_sidebar(sidebar)
# Tổng quan opens without a chart (its months are drawn once opened): no Plotly warm-up there.
components.load_bundles_early(chart=page is not PAGES[0])
page.run()
