"""Số hóa & thanh toán: digitized intake, electronic results, reuse, online payment; gaps by procedure."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components as ui
from dashboard import data, state
from motcua import charts, metrics
from motcua.text import slug

TITLE = "Số hóa & thanh toán"
RATE_KEYS = charts.DIGITIZATION_RATES
# numerator / denominator counts of each rate, shown next to it in the gap table
PAIRS = {key: (metrics.RATES[key].numerator, metrics.RATES[key].denominator) for key in RATE_KEYS}


def _cards(kpis: dict, previous: dict) -> None:
    ui.rate_cards(RATE_KEYS, kpis, previous)


def _chart(kpis: dict) -> None:
    caption = state.view_caption()
    goals = {k: v for k, v in state.targets().items() if k in RATE_KEYS}
    frame = pd.DataFrame([{"label": metrics.RATES[k].label, "rate": kpis["rates"][k], "target": goals.get(k)}
                             for k in RATE_KEYS])
    cols = [ui.Col("label", "Chỉ tiêu"), ui.Col("rate", "Tỷ lệ", "pct"), ui.Col("target", "Mục tiêu", "pct")]
    ui.chart(charts.digitization_rates(kpis, caption, targets=goals), "digital_rates", caption, data=frame,
             cols=cols, file_stem="so-hoa-thanh-toan")
    with st.expander("Định nghĩa các tỷ lệ"):
        for key in RATE_KEYS:
            metric = metrics.RATES[key]
            st.markdown(f"**{metric.label}**: {metric.definition}. Tử số: {metrics.COUNTS[metric.numerator]}; "
                        f"mẫu số: {metrics.COUNTS[metric.denominator]}. *Nguồn: {metric.source}.*")


def _gaps(scope, period, settings) -> None:
    st.subheader("Thủ tục còn thiếu số hóa, kết quả điện tử, thanh toán trực tuyến")
    choice = st.selectbox("Chỉ tiêu", RATE_KEYS, key="digital_gap_rate", format_func=lambda k: metrics.RATES[k].label,
                          placeholder="Chọn…")
    numerator, denominator = PAIRS[choice]
    frame = data.breakdown(scope, period, "procedure", settings)
    if not frame.empty:
        # Missing = dossiers in the denominator without the numerator: the size of each procedure's gap.
        frame = frame.assign(missing=frame[denominator] - frame[numerator])
        frame = frame[frame["missing"] > 0].sort_values(["missing", "label"], ascending=[False, True])
    cols = [ui.Col("label", "Thủ tục"), ui.Col(denominator, metrics.COUNTS[denominator], "int"),
            ui.Col(numerator, metrics.COUNTS[numerator], "int"), ui.Col("missing", "Còn thiếu", "int"),
            ui.Col(choice, metrics.RATES[choice].label, "pct")]
    caption = state.view_caption(f"{metrics.RATES[choice].label.lower()} theo thủ tục, thiếu nhiều nhất trước")
    ui.table(frame, cols, f"digital_gaps_{choice}", caption, file_stem=f"thieu-{slug(metrics.RATES[choice].label)}",
             empty_text="Không có thủ tục nào còn thiếu theo chỉ tiêu này trong kỳ.")


def render() -> None:
    view = ui.open_kpi_page(TITLE, "Số hóa hồ sơ khi tiếp nhận, kết quả điện tử, tái sử dụng dữ liệu và thanh toán "
                                   "trực tuyến.")
    if view is None:
        return
    scope, period, settings, kpis = view.scope, view.period, view.settings, view.kpis
    _cards(kpis, data.kpis(scope, view.compare_period, settings))
    ui.safe_section(lambda: _chart(kpis), "biểu đồ số hóa")
    ui.safe_section(lambda: _gaps(scope, period, settings), "danh sách thủ tục còn thiếu")
