"""Tiến độ giải quyết: early / on-time / late / pending by month, field or procedure, with drill-down."""

from __future__ import annotations

import dataclasses

import streamlit as st

from dashboard import components as ui
from dashboard import data, state, url_sync
from motcua import charts, metrics
from motcua.text import slug

TITLE = "Tiến độ giải quyết"
GROUPS = {"month": "Tháng", "field": "Lĩnh vực", "procedure": "Thủ tục", "department": "Phòng ban xử lý",
          "officer": "Cán bộ xử lý"}
BUCKETS = ("received_total", "resolved_total", *charts.RESOLUTION_BUCKETS, "pending_total")
ON_TIME_RATES = ("on_time_rate_766", "on_time_rate_resolved")
DRILL_KEY = "progress_drill"


def _table_cols(by: str) -> list[ui.Col]:
    return [ui.Col("label", GROUPS[by]),
            *[ui.Col(k, metrics.COUNTS.get(k, k), "int") for k in BUCKETS],
            *[ui.Col(k, metrics.RATES[k].label, "pct") for k in ON_TIME_RATES]]


def _definitions(kpis: dict) -> None:
    columns = st.columns(len(ON_TIME_RATES))
    goals = state.targets()
    for column, key in zip(columns, ON_TIME_RATES, strict=True):
        metric = metrics.RATES[key]
        with column:
            ui.rate_card(metric.label, kpis["rates"][key], None, goals.get(key))
            ui.metric_definition(metric)


def _narrow(scope, period, by: str, key: str):
    """Scope/period of one group (a month of the period, a field, a procedure)."""
    if by == "month":
        months = {m.code: m for m in period.months()}
        months.update({str(m.start): m for m in period.months()})
        return scope, months.get(str(key), period)
    if by == "field":
        return dataclasses.replace(scope, field_names=(str(key),)), period
    if by in ("department", "officer"):
        return dataclasses.replace(scope, **{f"{by}_names": (str(key),)}), period
    return dataclasses.replace(scope, procedure_codes=(str(key),)), period


def _view_key(scope, period, settings) -> tuple:
    """A remembered drill-down only applies to the view it was made in."""
    return (scope.key(), period.code, period.calendar, state.settings_key(settings))


def _remember_chart_click(points: list[dict], by: str, view: tuple) -> None:
    for point in points:
        custom = point.get("customdata")
        if custom and len(custom) >= 2:
            st.session_state[DRILL_KEY] = {"by": by, "bucket": custom[0], "key": custom[1],
                                           "label": str(point.get("x", custom[1])), "view": view}
            return


def _drill_down(scope, period, settings) -> None:
    drill = st.session_state.get(DRILL_KEY)
    st.subheader("Danh sách hồ sơ chi tiết")
    if not drill or drill.get("view") != _view_key(scope, period, settings):
        st.caption("Bấm vào một cột trên biểu đồ hoặc chọn một dòng trong bảng để xem các hồ sơ tương ứng.")
        return
    bucket_options = [*charts.RESOLUTION_BUCKETS, "waiting_supplement", "resolved_total", "pending_total",
                      "received_total"]
    bucket = st.selectbox("Nhóm hồ sơ", bucket_options, key=f"progress_bucket_{drill['by']}_{drill['key']}_{drill['bucket']}",
                          index=bucket_options.index(drill["bucket"]) if drill["bucket"] in bucket_options else 0,
                          format_func=lambda k: metrics.COUNTS.get(k, k), placeholder="Chọn…")
    drill["bucket"] = bucket  # the shared link carries the bucket on screen
    narrowed_scope, narrowed_period = _narrow(scope, period, drill["by"], drill["key"])
    frame = data.dossier_list(narrowed_scope, narrowed_period, bucket, settings)
    group = "" if drill["by"] == "month" else f" · {GROUPS[drill['by']]} {drill['label']}"  # month: in the period
    caption = (f"{state.scope_caption(narrowed_scope)} · {narrowed_period.caption}{group} · "
               f"{metrics.COUNTS.get(bucket, bucket)}")
    ui.dossier_table(frame, "progress_dossiers", caption, file_stem="ho-so-chi-tiet-tien-do")


def _drill_from_url(view: tuple) -> None:
    """A shared link's drill-down ("by:key:bucket", e.g. field:Hộ tịch:late) for this view."""
    value = url_sync.url_value("drill")
    if not value:
        return
    parts = value.split(":", 1)
    by, rest = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
    key, _sep, bucket = rest.rpartition(":")
    if by in _groups() and key and bucket in (*BUCKETS, *charts.RESOLUTION_BUCKETS):
        st.session_state[DRILL_KEY] = {"by": by, "key": key, "label": key, "bucket": bucket, "view": view}
    else:
        st.warning(f"Tham số 'drill={value}' trong đường dẫn không hợp lệ; không mở danh sách hồ sơ.")


def _share_drill(view: tuple) -> None:
    drill = st.session_state.get(DRILL_KEY)
    valid = drill and drill.get("view") == view
    url_sync.share("drill", f"{drill['by']}:{drill['key']}:{drill['bucket']}" if valid else None)


def _groups() -> list[str]:
    """Officials' names are a grouping only for users who may see them (site setting + role)."""
    return [key for key in GROUPS if key != "officer" or state.officer_names_visible()]


def _breakdown_section(scope, period, settings) -> None:
    url_sync.url_choice("by", "progress_by", _groups(), "month")
    by = st.segmented_control("Nhóm theo", _groups(), format_func=GROUPS.get, key="progress_by") or "month"
    if by not in _groups():
        by = "month"
    url_sync.share("by", None if by == "month" else by)
    frame = data.breakdown(scope, period, by, settings)
    if by != "month":
        frame = frame.sort_values("received_total", ascending=False, kind="stable").reset_index(drop=True)
    caption = state.view_caption(f"theo {GROUPS[by].lower()}")
    shown = frame.head(25) if by != "month" else frame
    title = f"Tiến độ giải quyết theo {GROUPS[by].lower()}" + (" (25 nhóm nhiều hồ sơ nhất)" if len(frame) > 25 else "")
    chart_cols = [ui.Col("label", GROUPS[by]), *[ui.Col(k, metrics.COUNTS.get(k, k), "int")
                                                 for k in charts.RESOLUTION_BUCKETS]]
    points = ui.chart(charts.resolution_by_month(shown, caption, title=title), f"progress_chart_{by}", caption,
                      data=shown, cols=chart_cols, selectable=True, file_stem=f"bieu-do-tien-do-theo-{slug(GROUPS[by])}")
    view = _view_key(scope, period, settings)
    _drill_from_url(view)
    _remember_chart_click(points, by, view)
    rows = ui.table(frame, _table_cols(by), f"progress_table_{by}", caption, selectable=True,
                    file_stem=f"tien-do-theo-{slug(GROUPS[by])}")
    if rows:
        row = frame.iloc[rows[0]]
        previous = st.session_state.get(DRILL_KEY) or {}
        st.session_state[DRILL_KEY] = {"by": by, "key": row["key"], "label": str(row["label"]),
                                       "bucket": previous.get("bucket", "late"), "view": view}
    _drill_down(scope, period, settings)
    _share_drill(view)


def render() -> None:
    view = ui.open_kpi_page(TITLE, "Hồ sơ giải quyết trước hạn, đúng hạn, quá hạn và đang giải quyết; "
                                   "bấm vào biểu đồ hoặc bảng để xem hồ sơ cụ thể.")
    if view is None:
        return
    scope, period, settings, kpis = view.scope, view.period, view.settings, view.kpis
    _definitions(kpis)
    ui.safe_section(lambda: _breakdown_section(scope, period, settings), "bảng tiến độ")
