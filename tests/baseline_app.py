"""The floor the browser timings are compared with (tests/test_e2e_round2.py): Streamlit alone, with no data,
no database and no app code: a heading and one small Plotly chart, and a button whose click reruns the script
and draws another chart. On the same machine, in the same run, its cold open and its click are the least any
Streamlit + Plotly page can take (the browser downloads and compiles Streamlit's bundles, 4.7 MB of Plotly
among them), so the dashboard's figures are reported beside it."""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Nền so sánh", layout="wide")
st.title("Nền so sánh")
clicks = st.session_state.get("clicks", 0)
if st.button("Chạy lại"):
    clicks = st.session_state["clicks"] = clicks + 1
st.plotly_chart(go.Figure(go.Bar(x=["a", "b", "c"], y=[1 + clicks, 3, 2])), key=f"chart_{clicks}")
st.caption(f"Số lần bấm: {clicks}")
