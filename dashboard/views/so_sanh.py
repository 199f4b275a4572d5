"""So sánh đơn vị: league table with ranks, scope total (sum num / sum den), heatmap, small multiples.

The table is sorted by the metric chosen in "Chỉ tiêu để so sánh" (the service-index estimate included);
every rank column names its metric. One click on a table row or a bar opens that unit's Tổng quan.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components as ui
from dashboard import data, state, url_sync
from dashboard.views import tong_quan
from motcua import charts, fmt, index_estimate, metrics
from motcua.text import slug

TITLE = "So sánh đơn vị"
LEAGUE_RATES = ("online_rate", "on_time_rate_766", "on_time_rate_resolved", "digitized_intake_rate",
                "electronic_result_rate", "online_payment_rate", "non_territorial_rate")
LEAGUE_COUNTS = ("received_total", "new", "resolved_total", "overdue")
HEATMAP_MAX_UNITS = 30
COMPARE_MAX = 6
SIDE_MONTHS_LABEL = "Biểu đồ theo tháng của các đơn vị được chọn"
SIDE_RADAR_LABEL = "Radar các nhóm chỉ số phục vụ"
SCORE = "index_score"  # the service-index estimate, offered next to the rates
SCORE_LABEL = "Chỉ số phục vụ (ước tính, phần so sánh được)"
TOTAL_LABEL = "Tổng cộng (toàn phạm vi)"
# Short names for the rank headers: "Hạng – trực tuyến" (one rank column per metric, never just "Hạng").
RANK_NAMES = {
    "online_rate": "trực tuyến",
    "on_time_rate_766": "đúng hạn QĐ 766",
    "on_time_rate_resolved": "đúng hạn (đã GQ)",
    "digitized_intake_rate": "số hóa",
    "electronic_result_rate": "kết quả điện tử",
    "online_payment_rate": "thanh toán trực tuyến",
    "non_territorial_rate": "không phụ thuộc địa giới",
    SCORE: "chỉ số phục vụ",
}
METRIC_CHOICES = (SCORE, *LEAGUE_RATES)
SORTS = {"metric": "Theo chỉ tiêu đã chọn", "name": "Theo tên đơn vị", "volume": "Theo số hồ sơ"}


def metric_label(key: str) -> str:
    return SCORE_LABEL if key == SCORE else metrics.RATES[key].label


def rank_col(key: str) -> ui.Col:
    return ui.Col(f"rank_{key}", f"Hạng – {RANK_NAMES.get(key) or metric_label(key).lower()}", "int")


def _league_cols(metric_key: str) -> list[ui.Col]:
    """Unit, chosen metric and its rank first, then counts, then every other rate with its own rank."""
    chosen = [ui.Col(metric_key, metric_label(metric_key), "num" if metric_key == SCORE else "pct"),
              rank_col(metric_key)]
    cols = [ui.Col("label", "Đơn vị"), *chosen, *[ui.Col(k, metrics.COUNTS[k], "int") for k in LEAGUE_COUNTS]]
    for key in METRIC_CHOICES:
        if key != metric_key:
            cols += [ui.Col(key, metric_label(key), "num" if key == SCORE else "pct"), rank_col(key)]
    return cols


def sort_by_metric(league: pd.DataFrame, metric_key: str, sort: str = "metric") -> pd.DataFrame:
    """Best first on the chosen metric (units without a value last, then by name); or by name / volume."""
    if sort == "name":
        return league.sort_values("label", kind="stable").reset_index(drop=True)
    if sort == "volume":
        return league.sort_values(["received_total", "label"], ascending=[False, True],
                                  kind="stable").reset_index(drop=True)
    return league.sort_values([metric_key, "label"], ascending=[False, True], na_position="last",
                              kind="stable").reset_index(drop=True)


def with_scores(league: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """League plus the estimate's comparable score and its rank within the shown units."""
    keep = scores.set_index("key")
    league = league.copy()
    league[SCORE] = league["key"].map(keep["score"]) if len(keep) else float("nan")
    league[f"rank_{SCORE}"] = index_estimate.rank_ties_min(league[SCORE].astype("float64"))
    for group in index_estimate.GROUPS:
        column = f"group_{group}"
        league[column] = league["key"].map(keep[column]) if len(keep) else float("nan")
    return league


def _open_overview(unit_code: str) -> None:
    """Select this unit and open its Tổng quan at once: the next run is Tổng quan's, whose unit picker takes
    the requested unit before it is drawn (one run instead of a rerun of this page first)."""
    state.request_units([unit_code])
    try:
        st.switch_page(st.Page(tong_quan.render, title=tong_quan.TITLE, url_path=tong_quan.URL_PATH))
    except st.errors.StreamlitAPIException:  # a page run on its own (no navigation, e.g. tests)
        st.rerun()  # stays here with the unit selected


def _league(league: pd.DataFrame, total: dict, metric_key: str) -> None:
    url_sync.url_choice("sort", "compare_sort", SORTS, "metric")
    sort = st.segmented_control("Sắp xếp bảng", list(SORTS), format_func=SORTS.get, key="compare_sort") or "metric"
    url_sync.share("sort", None if sort == "metric" else sort)
    order = metric_label(metric_key).lower() if sort == "metric" else SORTS[sort].lower()
    caption = state.view_caption(f"sắp xếp {order.removeprefix('theo ')}; hạng 1 = cao nhất, bằng nhau "
                                 "cùng hạng (1-2-2-4); dòng đầu là tổng chung = tổng tử số / tổng mẫu số; "
                                 "chọn một dòng để mở Tổng quan của đơn vị")
    shown = pd.concat([pd.DataFrame([{**total, "label": TOTAL_LABEL}]), sort_by_metric(league, metric_key, sort)],
                      ignore_index=True)
    picked = _selected_rows("compare_league")  # the run a row click started: switch before drawing the table
    if picked and picked[0] > 0:  # row 0 is the scope total
        _open_overview(str(shown.iloc[picked[0]]["key"]))
    ui.table(shown, _league_cols(metric_key), "compare_league", caption, file_stem="bang-xep-hang-don-vi",
             selectable=True)


def _bars(league: pd.DataFrame, total: dict, metric_key: str) -> None:
    clicked = _clicked_bar_unit()  # the tab's fragment rerun a bar click started: switch before drawing
    if clicked:
        _open_overview(clicked)
    caption = state.view_caption("đường nét đứt: tỷ lệ chung của phạm vi; chấm: mục tiêu; bấm vào một thanh để mở "
                                 "Tổng quan của đơn vị")
    cols = [ui.Col("label", "Đơn vị"), ui.Col(metric_key, metric_label(metric_key),
                                              "num" if metric_key == SCORE else "pct"), rank_col(metric_key)]
    top = sort_by_metric(league, metric_key).head(60)
    if metric_key == SCORE:
        fig = charts.scores_by_unit(top, SCORE, caption, title=f"{SCORE_LABEL} theo đơn vị")
    else:
        fig = charts.rates_by_unit(top, metric_key, caption, total=total.get(metric_key),
                                   target=state.targets().get(metric_key))
    # A click reruns the tab (a fragment), which reads the clicked bar from this chart's state first.
    ui.chart(fig, f"compare_bars_{metric_key}", caption, data=top, cols=cols, selectable=True,
             file_stem=f"{slug(metric_label(metric_key))}-theo-don-vi")


def _unit_of(points) -> str | None:
    """The unit code a click on a bar carries (its ``customdata``), if any."""
    keys = [p.get("customdata") for p in points or [] if p.get("customdata")]
    if not keys:
        return None
    return str(keys[0][0] if isinstance(keys[0], list | tuple) else keys[0])


def _selection(widget_key: str) -> dict:
    """The selection a click left in a chart's or table's state, read at the top of the run it started."""
    event = st.session_state.get(widget_key) or {}
    return event.get("selection") or {}


def _selected_rows(widget_key: str) -> list[int]:
    return list(_selection(widget_key).get("rows") or [])


def _clicked_bar_unit() -> str | None:
    """The unit of a bar clicked on the ranking chart of the chosen metric (that chart's key)."""
    return _unit_of(_selection(f"compare_bars_{st.session_state.get('compare_rate')}").get("points"))


def _radar(league: pd.DataFrame, chosen: list[str]) -> None:
    rows = league.set_index("key").loc[[c for c in chosen if c in set(league["key"])]]
    caption = state.view_caption("điểm từng nhóm của chỉ số phục vụ (ước tính), % điểm tối đa của nhóm")
    frame = rows.reset_index()
    st.plotly_chart(charts.index_radar(frame, caption), key="compare_radar", width="stretch",
                    config=ui.plotly_config("radar-chi-so-phuc-vu"))
    st.caption(fmt.md(caption))


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
             cols=cols, file_stem=f"{slug(metric_label(rate_key))}-don-vi-thang")


def _side_by_side(scope, period, settings, league: pd.DataFrame, rate_key: str) -> None:
    st.subheader("So sánh trực tiếp")
    labels = dict(zip(league["key"], league["label"], strict=True))
    default = list(scope.unit_codes[:COMPARE_MAX]) or league.sort_values("received_total", ascending=False)[
        "key"].head(3).tolist()
    chosen = st.multiselect("Chọn đơn vị để so sánh (tối đa 6)", list(labels), default=[c for c in default if c in labels],
                            format_func=labels.get, max_selections=COMPARE_MAX, key="compare_units",
                            placeholder="Chọn đơn vị…", select_all=False)
    if not chosen:
        st.caption("Chọn ít nhất một đơn vị.")
        return
    rows = league.set_index("key").loc[chosen]
    columns = st.columns(len(chosen))
    for column, (_code, row) in zip(columns, rows.iterrows(), strict=True):
        with column, st.container(border=True):
            st.markdown(unit_card(row, len(league)))
    # The charts of the chosen units open on demand, each in its own section: the ranking and the heatmap
    # above already chart the metric, and on a cold shared link every Plotly chart drawn costs the browser
    # ~0.2 s (3.36 s against 3.18 s, medians of 8 on 1M dossiers).
    if rate_key != SCORE:
        ui.lazy_expander(SIDE_MONTHS_LABEL, lambda: _multiples(scope, period, settings, chosen, rate_key),
                         key="compare_side_months")
    ui.lazy_expander(SIDE_RADAR_LABEL, lambda: _radar(league, chosen), key="compare_side_radar")


def unit_card(row: pd.Series, units: int) -> str:
    """One unit's side-by-side card as ONE Markdown element (name, volume, each metric with its rank): nine
    elements a card before, and every element costs the browser a share of each page render."""
    lines = [f"**{fmt.md(row['label'])}**", f":gray[{fmt.fmt_int(row['received_total'])} hồ sơ nhận giải quyết]"]
    for key in METRIC_CHOICES:
        rank = row[f"rank_{key}"]
        rank_text = "" if pd.isna(rank) else f" (hạng {fmt.fmt_int(rank)}/{fmt.fmt_int(units)})"
        value = fmt.fmt_num(row[key]) if key == SCORE else fmt.fmt_pct(row[key])
        lines.append(f"{metric_label(key)}: **{value}**{rank_text}")
    return "  \n".join(lines)


def _multiples(scope, period, settings, chosen: list[str], rate_key: str) -> None:
    long = _monthly_long(scope, period, settings, chosen)
    caption = state.view_caption("các đơn vị được chọn, theo tháng")
    cols = [ui.Col("unit", "Đơn vị"), ui.Col("month", "Tháng"), ui.Col(rate_key, metrics.RATES[rate_key].label, "pct")]
    ui.chart(charts.small_multiples(long, rate_key, caption), f"compare_multiples_{rate_key}", caption, data=long,
             cols=cols, file_stem=f"{slug(metric_label(rate_key))}-so-sanh-theo-thang")


def render() -> None:
    opened = ui.open_page(TITLE, "Bảng xếp hạng các xã/phường theo từng chỉ tiêu; tổng chung tính bằng tổng tử số "
                                "chia tổng mẫu số.")
    if opened is None:
        return
    scope, period, settings = opened
    data.warm_peer_caches(period, settings)  # a click on a unit opens its Tổng quan with its rank
    league = data.league_table(scope, period, settings)
    league = league[league["received_total"] > 0] if not league.empty else league
    if league.empty:
        ui.empty_state()
        return
    total = metrics.total_row(league)
    league = with_scores(league, data.index_league(scope, period, settings))
    url_sync.url_choice("metric", "compare_rate", METRIC_CHOICES, "online_rate")
    rate_key = st.selectbox("Chỉ tiêu để so sánh", METRIC_CHOICES, key="compare_rate", format_func=metric_label,
                            placeholder="Chọn…")
    url_sync.share("metric", rate_key)
    if rate_key == SCORE:
        st.caption(f"{SCORE_LABEL}: {index_estimate.ESTIMATE_LABEL} từ dữ liệu hồ sơ, cộng các thành phần tính được "
                   "cho mọi đơn vị trong bảng; không phải điểm chính thức của Cổng DVCQG.")
    ui.safe_section(lambda: _league(league, total, rate_key), "bảng xếp hạng")
    ui.lazy_tabs([
        ("Biểu đồ xếp hạng", lambda: ui.safe_section(lambda: _bars(league, total, rate_key), "biểu đồ xếp hạng")),
        ("Bản đồ nhiệt đơn vị × tháng", lambda: ui.safe_section(
            lambda: _heatmap(scope, period, settings, league, rate_key) if rate_key != SCORE
            else st.caption("Bản đồ nhiệt theo tháng chỉ có cho các tỷ lệ."), "bản đồ nhiệt")),
    ], key="compare_chart_tabs")
    ui.safe_section(lambda: _side_by_side(scope, period, settings, league, rate_key), "so sánh trực tiếp")
