"""Trực tuyến & mức độ DVC: channel shares over time, DVC level mix, both online-rate definitions."""

from __future__ import annotations

import streamlit as st

from dashboard import components as ui
from dashboard import data, state
from motcua import charts, metrics

TITLE = "Trực tuyến & mức độ DVC"
ONLINE_RATES = ("online_rate", "online_rate_of_online_procedures")
CHANNEL_COUNTS = ("online", "direct", "postal")
LEVEL_COLS = (
    ui.Col("level_label", "Mức độ dịch vụ công"),
    ui.Col("procedures", "Số thủ tục có hồ sơ", "int"),
    ui.Col("dossiers", "Số hồ sơ", "int"),
)


def _rates(kpis: dict, previous: dict) -> None:
    ui.rate_cards(ONLINE_RATES, kpis, previous, definitions_below=True)
    columns = st.columns(len(CHANNEL_COUNTS))
    for column, key in zip(columns, CHANNEL_COUNTS, strict=True):
        with column:
            ui.count_card(metrics.COUNTS.get(key, key), kpis["received"][key], previous["received"][key])


def _channels(scope, period, settings) -> None:
    months = data.breakdown(scope, period, "month", settings)
    caption = state.view_caption("theo tháng")
    cols = [ui.Col("label", "Tháng"), *[ui.Col(k, metrics.COUNTS.get(k, k), "int") for k in CHANNEL_COUNTS],
            *[ui.Col(k, metrics.RATES[k].label, "pct") for k in ONLINE_RATES]]
    goals = {k: v for k, v in state.targets().items() if k in ONLINE_RATES}
    ui.lazy_tabs([
        ("Cơ cấu kênh nộp theo tháng", lambda: ui.chart(
            charts.channel_mix_by_month(months, caption), "online_channel_mix", caption, data=months, cols=cols,
            file_stem="co-cau-kenh-theo-thang")),
        ("Tỷ lệ trực tuyến theo tháng", lambda: ui.chart(
            charts.rates_by_month(months, ONLINE_RATES, caption, title="Tỷ lệ hồ sơ trực tuyến theo tháng",
                                  targets=goals), "online_rates_trend", caption, data=months, cols=cols,
            file_stem="ty-le-truc-tuyen-theo-thang")),
    ], key="online_chart_tabs")


def _levels(scope, period) -> None:
    st.subheader("Mức độ dịch vụ công trực tuyến")
    frame = data.level_breakdown(scope, period)
    caption = state.view_caption("cơ cấu mức độ DVC của thủ tục và của hồ sơ")
    if int(frame[["dossiers", "procedures"]].to_numpy().sum()) == 0:
        ui.empty_state()
        return
    ui.chart(charts.level_mix(frame, caption), "online_level_mix", caption, data=frame, cols=LEVEL_COLS,
             file_stem="bieu-do-muc-do-dvc")
    ui.table(frame, LEVEL_COLS, "online_level_table", caption, file_stem="muc-do-dvc")


PROCEDURE_LEVEL_COLS = (
    ui.Col("level_label", "Mức độ dịch vụ công"),
    ui.Col("offered", "Số TTHC cung cấp", "int"),
    ui.Col("with_dossiers", "Số TTHC có hồ sơ trong kỳ", "int"),
)


def _procedure_levels(scope, period) -> None:
    st.subheader("Thủ tục hành chính theo mức độ DVC")
    frame = data.procedures_by_level(scope, period)
    if int(frame["offered"].sum()) == 0:
        ui.empty_state("Chưa có danh mục TTHC hoặc hồ sơ để đếm thủ tục theo mức độ.")
        return
    st.markdown(metrics.procedures_by_level_sentence(frame))  # numbers only: no text from the data
    ui.table(frame, PROCEDURE_LEVEL_COLS, "online_procedure_levels", state.view_caption("số TTHC theo mức độ DVC"),
             file_stem="tthc-theo-muc-do")
    if len(scope.unit_codes) != 1:
        per_unit = data.procedures_by_level(scope, period, by_unit=True)
        cols = (ui.Col("unit_label", "Đơn vị"), *PROCEDURE_LEVEL_COLS)
        ui.table(per_unit[per_unit["offered"] > 0], cols, "online_procedure_levels_units",
                 state.view_caption("số TTHC theo mức độ DVC, từng đơn vị"), file_stem="tthc-theo-muc-do-don-vi")


def _by_procedure(scope, period, settings) -> None:
    st.subheader("Tỷ lệ trực tuyến theo thủ tục")
    frame = data.breakdown(scope, period, "procedure", settings)
    if not frame.empty:
        frame = frame.sort_values(["online_rate", "received_total"], ascending=[True, False], na_position="last")
    cols = [ui.Col("label", "Thủ tục"), ui.Col("new", metrics.COUNTS.get("new", "new"), "int"),
            *[ui.Col(k, metrics.COUNTS.get(k, k), "int") for k in CHANNEL_COUNTS],
            *[ui.Col(k, metrics.RATES[k].label, "pct") for k in ONLINE_RATES]]
    ui.table(frame, cols, "online_by_procedure", state.view_caption("theo thủ tục, tỷ lệ thấp nhất trước"),
             file_stem="truc-tuyen-theo-thu-tuc")


def render() -> None:
    view = ui.open_kpi_page(TITLE, "Hồ sơ trực tuyến, trực tiếp, bưu chính và mức độ dịch vụ công.")
    if view is None:
        return
    scope, period, settings, kpis = view.scope, view.period, view.settings, view.kpis
    _rates(kpis, data.kpis(scope, view.compare_period, settings))
    st.caption(ui.non_territorial_caption(kpis))
    ui.safe_section(lambda: _channels(scope, period, settings), "cơ cấu kênh nộp")
    ui.safe_section(lambda: _levels(scope, period), "mức độ dịch vụ công")
    ui.safe_section(lambda: _procedure_levels(scope, period), "thủ tục theo mức độ DVC")
    ui.safe_section(lambda: _by_procedure(scope, period, settings), "bảng theo thủ tục")
