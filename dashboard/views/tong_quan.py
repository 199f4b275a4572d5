"""Tổng quan (for the commune chair): KPI cards vs previous period and targets, monthly trend, at-risk list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components as ui
from dashboard import data, state
from motcua import charts, fmt, metrics, vntime

TITLE = "Tổng quan"
URL_PATH = "tong-quan"  # the default page: served at "/", and at /tong-quan (dashboard.routing)
COUNT_CARDS = (
    ("received_total", ("received", "total"), False),
    ("resolved_total", ("resolved", "total"), False),
    ("pending_total", ("pending", "total"), True),  # more dossiers still open is bad news
    ("overdue", ("pending", "overdue"), True),
)
RATE_CARDS = ("online_rate", "on_time_rate_766", "on_time_rate_resolved", "digitized_intake_rate")
TREND_RATES = ("online_rate", "on_time_rate_766", "digitized_intake_rate")
TREND_HEADING = "Xu hướng theo tháng"
TREND_LABEL = "Biểu đồ tỷ lệ và kết quả giải quyết theo tháng"
INDEX_TREND_LABEL = "Xu hướng điểm và hạng 12 tháng"
COMPONENTS_LABEL = "Các thành phần, cách tính và nguồn"
RISK_LABELS = {"overdue": "Đã quá hạn", "due_soon": "Sắp đến hạn", "waiting": "Chờ bổ sung (dừng tính hạn)"}
RISK_MARKS = {"overdue": "🔴", "due_soon": "🟠", "waiting": "🔵"}  # plain text: no Markdown colour directives
# A phone gets the at-risk list as short items that wrap (``ui.table(phone=…)``): in the wide table only
# the warning and the days left fit in 390 px. Wider screens keep the table.
PHONE_ROWS = 20
# Warning, days left, due date and procedure first: on a 390 px phone these four are what fits. Who holds
# the dossier (resolving unit, department, officer where this user may see names) follows, in the table
# and its downloads.
AT_RISK_COLS = (
    ui.Col("risk_label", "Cảnh báo"),
    ui.Col("working_days_left", "Còn (ngày LV)", "int"),
    ui.Col("due_at", "Hạn trả", "date"),
    ui.Col("procedure_name", "Thủ tục"),
    ui.Col("dossier_code", "Mã hồ sơ"),
    ui.Col("resolving_unit", "Đơn vị giải quyết"),
    ui.Col("handling_department", "Phòng ban xử lý"),
    ui.Col("handling_officer", "Cán bộ xử lý"),
    ui.Col("current_step", "Bước xử lý"),
    ui.Col("receiving_unit", "Đơn vị tiếp nhận"),
    ui.Col("field_name", "Lĩnh vực"),
    ui.Col("received_at", "Ngày tiếp nhận", "date"),
    ui.Col("status_label", "Trạng thái"),
    ui.Col("days_late", "Số ngày trễ (ngày làm việc)", "int"),
    ui.Col("reappointed_label", "Đã xin lỗi, hẹn lại"),
)


def _nested(kpis: dict, path: tuple[str, str]) -> int:
    return kpis[path[0]][path[1]]


def _cards(kpis: dict, previous: dict, previous_period, partial: bool = False) -> None:
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
        f"Đang giải quyết: {fmt.fmt_int(kpis['pending']['within_deadline'])} trong hạn (gồm "
        f"{fmt.fmt_int(kpis['pending']['waiting_supplement'])} chờ bổ sung), "
        f"{fmt.fmt_int(kpis['pending']['overdue'])} quá hạn. "
        f"Mũi tên: thay đổi so với {'cùng khoảng của kỳ trước' if partial else 'kỳ trước'} "
        f"({previous_period.caption}); tỷ lệ thay đổi tính bằng điểm phần trăm."
    )
    st.caption(ui.non_territorial_caption(kpis))


def _trend(scope, period, settings) -> None:
    """The months of the period, drawn once opened; a link that names one of its tabs opens it.

    Tổng quan opens with its cards, the estimate and the at-risk list and no chart: the first chart a
    browser draws has it run Plotly's module first, 0.5-0.9 s of its main thread, and every element still
    loading its own code (the cards, the pickers) waited for that too. 1M dossiers, medians of 8, two
    servers in turn, until the whole page is drawn: a cold link of one commune 3.61 s -> 2.35 s, a
    ranking click 1.01 s -> 0.79 s. The shell (``server.idle_module_runs``) has the browser run Plotly's
    module once the page is drawn and idle, so opening this section does not wait for it either."""
    st.subheader(TREND_HEADING)  # its own heading: not read as part of the service-index section above
    ui.lazy_expander(TREND_LABEL, lambda: _trend_tabs(scope, period, settings), key="overview_trend_open",
                     url_param="tab")


def _trend_tabs(scope, period, settings) -> None:
    # Two views of the same months: tabs, only the open one drawn (a Plotly chart is ~0.1-0.3 s of the
    # browser's work each time Tổng quan opens for a commune on the 1M-dossier benchmark).
    ui.lazy_tabs([("Tỷ lệ theo tháng", lambda: _trend_rates(scope, period, settings)),
                  ("Kết quả giải quyết theo tháng", lambda: _trend_buckets(scope, period, settings))],
                 key="overview_trend_tabs")


def _trend_rates(scope, period, settings) -> None:
    months = data.breakdown(scope, period, "month", settings)
    caption = state.view_caption("theo tháng")
    goals = {k: v for k, v in state.targets().items() if k in TREND_RATES}
    rate_cols = [ui.Col("label", "Tháng"), *[ui.Col(k, metrics.RATES[k].label, "pct") for k in TREND_RATES]]
    ui.chart(charts.rates_by_month(months, TREND_RATES, caption, targets=goals), "overview_trend_rates", caption,
             data=months, cols=rate_cols, file_stem="xu-huong-ty-le")


def _trend_buckets(scope, period, settings) -> None:
    months = data.breakdown(scope, period, "month", settings)
    caption = state.view_caption("theo tháng")
    bucket_cols = [ui.Col("label", "Tháng"),
                   *[ui.Col(k, metrics.COUNTS.get(k, k), "int") for k in charts.RESOLUTION_BUCKETS]]
    ui.chart(charts.resolution_by_month(months, caption), "overview_trend_buckets", caption, data=months,
             cols=bucket_cols, file_stem="tien-do-theo-thang")


def _at_risk(scope, period, settings) -> None:
    as_of = min(vntime.today(), period.end)
    st.subheader("Hồ sơ quá hạn và sắp đến hạn")
    frame = data.at_risk(scope, as_of, settings)
    if frame is not None and not frame.empty:
        frame = frame.assign(risk_label=frame["risk"].map(RISK_LABELS))
    caption = (f"{state.scope_caption(scope)} · hồ sơ chưa giải quyết tại ngày {fmt.fmt_date(as_of)}, "
               f"quá hạn hoặc còn ≤ {settings.at_risk_days} ngày làm việc")
    ui.dossier_table(frame, "overview_at_risk", caption, cols=AT_RISK_COLS, file_stem="ho-so-qua-han-sap-den-han",
                     empty_text="Không có hồ sơ quá hạn hoặc sắp đến hạn.", phone=_phone_list)


def _days_left(value) -> str:
    if pd.isna(value):
        return f"còn {fmt.NA} ngày LV"
    days = int(value)
    return f"còn {fmt.fmt_int(days)} ngày LV" if days >= 0 else f"quá {fmt.fmt_int(-days)} ngày LV"


def phone_items(frame: pd.DataFrame, limit: int = PHONE_ROWS) -> str:
    """The at-risk list as Markdown items: warning, working days left, due date, then the procedure and
    the dossier code (data text escaped)."""
    lines = []
    for row in frame.head(limit).itertuples(index=False):
        label = f"{RISK_MARKS.get(row.risk, '⚪')} **{RISK_LABELS.get(row.risk, fmt.md(row.risk))}**"
        lines.append(f"- {label} · {_days_left(row.working_days_left)} · hạn {fmt.fmt_date(row.due_at)}  \n"
                     f"  {fmt.md(row.procedure_name)} · {fmt.md(row.dossier_code)}")
    return "\n".join(lines)


def _phone_list(frame: pd.DataFrame) -> None:
    """Shown instead of the table on a phone; the downloads below hold every row and column."""
    st.markdown(phone_items(frame))
    if len(frame) > PHONE_ROWS:
        st.caption(f"{fmt.fmt_int(PHONE_ROWS)}/{fmt.fmt_int(len(frame))} hồ sơ đầu tiên; xem đủ trên màn hình "
                   "rộng hoặc trong tệp tải về.")


def _estimate(scope, period, settings) -> None:
    """Service-index estimate: total, rank among the province's communes, what can still be done, trend."""
    block = data.index_block(scope, period, settings)
    st.subheader(f"Chỉ số phục vụ người dân, doanh nghiệp ({block['label']})")
    known = block["total"]
    rank = block.get("rank")
    left, middle = st.columns(2)
    with left, st.container(border=True):
        st.metric(f"Điểm {block['label']} (phần tính được)", fmt.fmt_num(known),
                  help=f"Tối đa {fmt.fmt_num(block['total_max_known'])} điểm của các thành phần tính được / "
                       f"{fmt.fmt_num(block['max'])} điểm. {block['note']}")
    with middle, st.container(border=True):
        st.metric("Xếp hạng trong tỉnh", rank["text"] if rank else fmt.NA,
                  help="Hạng theo phần điểm so sánh được giữa các xã/phường của tỉnh (bằng điểm cùng hạng, "
                       "1-2-2-4); chỉ so sánh cùng phiên bản công thức.")
        if rank:
            st.caption(f"{rank['peer_group']}: hạng {rank['peer_rank']}/{rank['peer_units']} · bách phân vị "
                       f"{fmt.fmt_num(rank['percentile'], 0)}")
    parts = block["parts"]
    st.caption(f"Công thức: {block['version_label']}. Ước tính từ hồ sơ: {len(parts['estimated'])} thành phần · nhập tay: {len(parts['entered'])} · "
               f"thiếu: {len(parts['missing'])} · chưa xác định: {len(parts['undetermined'])} (dịch vụ công trực "
               "tuyến). " + block["note"])
    if block["actions"]:
        st.markdown("**Việc còn làm được trong kỳ**")
        for action in block["actions"]:
            st.text(f"• {action['text']}")  # plain text: no Markdown from computed strings
    # Both drawn only once opened (and then kept open for the session): as a second chart on every opening
    # of a commune, the 12-month trend cost a ranking click 0.14 s (medians of 8, interleaved runs).
    ui.lazy_expander(INDEX_TREND_LABEL, lambda: _estimate_trend(scope, period, settings), key="overview_index_trend_open")
    ui.lazy_expander(COMPONENTS_LABEL, lambda: _components_table(block), key="overview_index_parts")


def _components_table(block: dict) -> None:
    frame = pd.DataFrame(block["components"])
    cols = [ui.Col("label", "Thành phần"), ui.Col("points", "Điểm", "num"), ui.Col("max", "Tối đa", "num"),
            ui.Col("status_label", "Trạng thái"), ui.Col("formula", "Cách tính"), ui.Col("source", "Nguồn")]
    ui.table(frame, cols, "overview_index_components", state.view_caption(block["version_label"]),
             file_stem="chi-so-phuc-vu-thanh-phan")


def _estimate_trend(scope, period, settings) -> None:
    trend = data.index_trend(scope, period, settings)
    if trend is None:
        st.caption("Xu hướng điểm và hạng: chọn một xã/phường.")
        return
    caption = state.view_caption("12 tháng; tháng chưa có hồ sơ để trống")
    cols = [ui.Col("label", "Tháng"), ui.Col("score", "Điểm (ước tính)", "num"), ui.Col("rank", "Hạng", "int"),
            ui.Col("units", "Số đơn vị so sánh", "int")]
    ui.chart(charts.score_rank_trend(trend, caption), "overview_index_trend", caption, data=trend, cols=cols,
             file_stem="xu-huong-chi-so-phuc-vu")


def render() -> None:
    view = ui.open_kpi_page(TITLE, "Các chỉ tiêu chính của kỳ, so với kỳ trước và mục tiêu.")
    if view is None:
        return
    scope, period, settings, kpis = view.scope, view.period, view.settings, view.kpis
    data.warm_peer_caches(period, settings)  # the next commune opened ranks from warm province data
    ui.brief_button(scope, period, settings, "overview_brief")
    _cards(kpis, data.kpis(scope, view.compare_period, settings), view.compare_period, view.partial)
    ui.safe_section(lambda: _estimate(scope, period, settings), "chỉ số phục vụ")
    ui.safe_section(lambda: _trend(scope, period, settings), "xu hướng theo tháng")
    ui.safe_section(lambda: _at_risk(scope, period, settings), "danh sách hồ sơ cần chú ý")
