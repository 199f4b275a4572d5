"""Tổng quan (for the commune chair): KPI cards vs previous period and targets, monthly trend, at-risk list."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import components as ui
from dashboard import data, state
from motcua import charts, fmt, metrics

TITLE = "Tổng quan"
COUNT_CARDS = (
    ("received_total", ("received", "total"), False),
    ("resolved_total", ("resolved", "total"), False),
    ("pending_total", ("pending", "total"), False),
    ("overdue", ("pending", "overdue"), True),
)
RATE_CARDS = ("online_rate", "on_time_rate_766", "on_time_rate_resolved", "digitized_intake_rate")
TREND_RATES = ("online_rate", "on_time_rate_766", "digitized_intake_rate")
AT_RISK_COLS = (
    ui.Col("risk_label", "Cảnh báo"),
    ui.Col("working_days_left", "Còn lại (ngày làm việc)", "int"),
)


def _nested(kpis: dict, path: tuple[str, str]) -> int:
    return kpis[path[0]][path[1]]


def _cards(kpis: dict, previous: dict, previous_period) -> None:
    columns = st.columns(len(COUNT_CARDS))
    for column, (key, path, lower_is_better) in zip(columns, COUNT_CARDS, strict=True):
        with column:
            ui.count_card(metrics.COUNTS.get(key, key), _nested(kpis, path), _nested(previous, path),
                          lower_is_better=lower_is_better)
    ui.rate_cards(RATE_CARDS, kpis, previous)
    received = kpis["received"]
    st.caption(
        f"Tiếp nhận {fmt.fmt_int(received['total'])} hồ sơ: {fmt.fmt_int(received['carried_over'])} từ kỳ trước "
        f"chuyển sang, {fmt.fmt_int(received['new'])} mới tiếp nhận ({fmt.fmt_int(received['online'])} trực "
        f"tuyến, {fmt.fmt_int(received['direct'])} trực tiếp, {fmt.fmt_int(received['postal'])} bưu chính). "
        f"Mũi tên: thay đổi so với kỳ trước ({previous_period.caption}); tỷ lệ thay đổi tính bằng điểm phần trăm."
    )
    st.caption(ui.non_territorial_caption(kpis))


def _trend(scope, period, settings) -> None:
    months = data.breakdown(scope, period, "month", settings)
    caption = state.view_caption("theo tháng")
    goals = {k: v for k, v in state.targets().items() if k in TREND_RATES}
    rate_cols = [ui.Col("label", "Tháng"), *[ui.Col(k, metrics.RATES[k].label, "pct") for k in TREND_RATES]]
    ui.chart(charts.rates_by_month(months, TREND_RATES, caption, targets=goals), "overview_trend_rates", caption,
             data=months, cols=rate_cols, file_stem="xu-huong-ty-le")
    bucket_cols = [ui.Col("label", "Tháng"),
                   *[ui.Col(k, metrics.COUNTS.get(k, k), "int") for k in charts.RESOLUTION_BUCKETS]]
    ui.chart(charts.resolution_by_month(months, caption), "overview_trend_buckets", caption, data=months,
             cols=bucket_cols, file_stem="tien-do-theo-thang")


def _at_risk(scope, period, settings) -> None:
    as_of = min(date.today(), period.end)
    st.subheader("Hồ sơ quá hạn và sắp đến hạn")
    frame = data.at_risk(scope, as_of, settings)
    if frame is not None and not frame.empty:
        frame = frame.assign(risk_label=frame["risk"].map({"overdue": "Đã quá hạn", "due_soon": "Sắp đến hạn"}))
    caption = (f"{state.scope_caption(scope)} · hồ sơ chưa giải quyết tại ngày {fmt.fmt_date(as_of)}, "
               f"quá hạn hoặc còn ≤ {settings.at_risk_days} ngày làm việc")
    ui.dossier_table(frame, "overview_at_risk", caption, extra=AT_RISK_COLS,
                     empty_text="Không có hồ sơ quá hạn hoặc sắp đến hạn.")


def render() -> None:
    view = ui.open_kpi_page(TITLE, "Các chỉ tiêu chính của kỳ, so với kỳ trước và mục tiêu.")
    if view is None:
        return
    scope, period, settings, kpis = view.scope, view.period, view.settings, view.kpis
    _cards(kpis, data.kpis(scope, period.previous(), settings), period.previous())
    ui.safe_section(lambda: _trend(scope, period, settings), "xu hướng theo tháng")
    ui.safe_section(lambda: _at_risk(scope, period, settings), "danh sách hồ sơ cần chú ý")
