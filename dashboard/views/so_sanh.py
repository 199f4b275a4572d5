"""So sánh đơn vị: league table with ranks, scope total (sum num / sum den), heatmap, small multiples."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components as ui
from dashboard import data, state
from motcua import charts, fmt, metrics

TITLE = "So sánh đơn vị"
LEAGUE_RATES = ("online_rate", "on_time_rate_766", "on_time_rate_resolved", "digitized_intake_rate",
                "electronic_result_rate", "online_payment_rate", "non_territorial_rate")
LEAGUE_COUNTS = ("received_total", "new", "resolved_total", "overdue")
HEATMAP_MAX_UNITS = 30
COMPARE_MAX = 6


def _league_cols() -> list[ui.Col]:
    cols = [ui.Col("label", "Đơn vị"), *[ui.Col(k, metrics.COUNTS[k], "int") for k in LEAGUE_COUNTS]]
    for key in LEAGUE_RATES:
        cols += [ui.Col(key, metrics.RATES[key].label, "pct"), ui.Col(f"rank_{key}", "Hạng", "int")]
    return cols


def _league(league: pd.DataFrame, total: dict) -> None:
    caption = state.view_caption("xếp hạng: 1 = tỷ lệ cao nhất; dòng đầu là tổng chung = tổng tử số / tổng mẫu số")
    shown = pd.concat([pd.DataFrame([{**total, "label": "Tổng cộng (toàn phạm vi)"}]), league], ignore_index=True)
    ui.table(shown, _league_cols(), "compare_league", caption, file_stem="bang-xep-hang-don-vi")


def _bars(league: pd.DataFrame, total: dict, rate_key: str) -> None:
    caption = state.view_caption("đường nét đứt: tỷ lệ chung của phạm vi")
    cols = [ui.Col("label", "Đơn vị"), ui.Col(rate_key, metrics.RATES[rate_key].label, "pct"),
            ui.Col(f"rank_{rate_key}", "Hạng", "int")]
    ui.chart(charts.rates_by_unit(league.head(60), rate_key, caption, total=total.get(rate_key)),
             f"compare_bars_{rate_key}", caption, data=league, cols=cols, file_stem=f"{rate_key}-theo-don-vi")


def _monthly_long(scope, period, settings, unit_keys: list[str]) -> pd.DataFrame:
    frame = data.unit_months(scope, period, settings)
    if frame.empty:
        return frame
    frame = frame[frame["key"].isin(unit_keys)].rename(columns={"label": "unit"})
    order = {key: i for i, key in enumerate(unit_keys)}
    return frame.sort_values(["key", "month_code"], key=lambda s: s.map(order) if s.name == "key" else s)


def _heatmap(scope, period, settings, league: pd.DataFrame, rate_key: str) -> None:
    busiest = league.sort_values("received_total", ascending=False).head(HEATMAP_MAX_UNITS)
    long = _monthly_long(scope, period, settings, busiest["key"].tolist())
    note = f"{HEATMAP_MAX_UNITS} đơn vị nhiều hồ sơ nhất" if len(league) > HEATMAP_MAX_UNITS else "theo tháng"
    caption = state.view_caption(note)
    cols = [ui.Col("unit", "Đơn vị"), ui.Col("month", "Tháng"), ui.Col(rate_key, metrics.RATES[rate_key].label, "pct")]
    ui.chart(charts.heatmap_unit_month(long, rate_key, caption), f"compare_heatmap_{rate_key}", caption, data=long,
             cols=cols, file_stem=f"{rate_key}-don-vi-thang")


def _side_by_side(scope, period, settings, league: pd.DataFrame, rate_key: str) -> None:
    st.subheader("So sánh trực tiếp")
    labels = dict(zip(league["key"], league["label"], strict=True))
    default = list(scope.unit_codes[:COMPARE_MAX]) or league.sort_values("received_total", ascending=False)[
        "key"].head(3).tolist()
    chosen = st.multiselect("Chọn đơn vị để so sánh (tối đa 6)", list(labels), default=[c for c in default if c in labels],
                            format_func=labels.get, max_selections=COMPARE_MAX, key="compare_units")
    if not chosen:
        st.caption("Chọn ít nhất một đơn vị.")
        return
    rows = league.set_index("key").loc[chosen]
    columns = st.columns(len(chosen))
    for column, (_code, row) in zip(columns, rows.iterrows(), strict=True):
        with column, st.container(border=True):
            st.markdown(f"**{row['label']}**")
            st.caption(f"{fmt.fmt_int(row['received_total'])} hồ sơ nhận giải quyết")
            for key in LEAGUE_RATES:
                rank = row[f"rank_{key}"]
                rank_text = "" if pd.isna(rank) else f" (hạng {fmt.fmt_int(rank)}/{fmt.fmt_int(len(league))})"
                st.markdown(f"{metrics.RATES[key].label}: **{fmt.fmt_pct(row[key])}**{rank_text}")
    long = _monthly_long(scope, period, settings, chosen)
    caption = state.view_caption("các đơn vị được chọn, theo tháng")
    cols = [ui.Col("unit", "Đơn vị"), ui.Col("month", "Tháng"), ui.Col(rate_key, metrics.RATES[rate_key].label, "pct")]
    ui.chart(charts.small_multiples(long, rate_key, caption), f"compare_multiples_{rate_key}", caption, data=long,
             cols=cols, file_stem=f"{rate_key}-so-sanh-theo-thang")


def render() -> None:
    opened = ui.open_page(TITLE, "Bảng xếp hạng các xã/phường theo từng chỉ tiêu; tổng chung tính bằng tổng tử số "
                                "chia tổng mẫu số.")
    if opened is None:
        return
    scope, period, settings = opened
    league = data.league_table(scope, period, settings)
    league = league[league["received_total"] > 0] if not league.empty else league
    if league.empty:
        ui.empty_state()
        return
    total = metrics.total_row(league)
    rate_key = st.selectbox("Chỉ tiêu để so sánh", LEAGUE_RATES, key="compare_rate",
                            format_func=lambda k: metrics.RATES[k].label)
    ui.safe_section(lambda: _league(league, total), "bảng xếp hạng")
    ui.lazy_tabs([
        ("Biểu đồ xếp hạng", lambda: ui.safe_section(lambda: _bars(league, total, rate_key), "biểu đồ xếp hạng")),
        ("Bản đồ nhiệt đơn vị × tháng", lambda: ui.safe_section(
            lambda: _heatmap(scope, period, settings, league, rate_key), "bản đồ nhiệt")),
    ], key="compare_chart_tabs")
    ui.safe_section(lambda: _side_by_side(scope, period, settings, league, rate_key), "so sánh trực tiếp")
