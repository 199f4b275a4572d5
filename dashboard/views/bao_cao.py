"""Báo cáo: the quarterly report pack in one click (Excel Biểu 06, Word draft, province zip).

The numbers shown here and written to the files come from ``motcua.report`` (which calls
``motcua.metrics``). Files are built only when a download button is clicked (deferred ``data``
callables run off the script thread), then kept in a small per-process cache so the second file of
the same pack is instant.

Access: every pack, preview and zip is built from ``state.restrict(scope)`` (the signed-in user's units
only), resolved on the script thread before the deferred callables are created, and the cache keys hold
that restricted scope: a chair's batch holds their own commune(s), an officer's their province.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import components as ui
from dashboard import state
from motcua import fmt, metrics
from motcua.filters import Scope
from motcua.periods import Period
from motcua.report import word
from motcua.report.data import BIEU06_COLUMNS, EmptyReport, ReportData, bieu06_value, collect
from motcua.report.images import find_chromium
from motcua.report.pack import Pack, batch_units, batch_zip_bytes, make_pack, pack_stem, rules_tag

TITLE = "Báo cáo"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIME = "application/zip"
CACHE_ENTRIES = 8
K_CHARTS, K_BATCH_CHARTS = "report_with_charts", "report_batch_charts"


class _FileCache:
    """Thread-safe LRU of built packs: the download callables run outside the script thread."""

    def __init__(self, size: int):
        self._size, self._items, self._lock = size, OrderedDict(), threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, build: Callable[[], object]):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # two buttons clicked at once build the pack once
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = build()
            with self._lock:
                self._items[key] = value
                self._building.pop(key, None)
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            return value


_CACHE = _FileCache(CACHE_ENTRIES)
_ZIP_CACHE = _FileCache(2)  # a province zip can weigh tens of MB


def _key(kind: str, scope: Scope, period: Period, settings: metrics.Settings, with_charts: bool) -> tuple:
    return (kind, state.get_db().version(), scope.key(), period.code, period.calendar,
            dataclasses.astuple(settings), with_charts)


def _pack_getter(scope: Scope, period: Period, settings: metrics.Settings, with_charts: bool) -> Callable[[], Pack]:
    scope = state.restrict(scope)  # on the script thread: the callable runs without a session
    db, key = state.get_db(), _key("pack", scope, period, settings, with_charts)
    return lambda: _CACHE.get(key, lambda: make_pack(db, scope, period, settings, with_charts=with_charts))


def _zip_getter(scope: Scope, period: Period, settings: metrics.Settings, with_charts: bool):
    scope = state.restrict(scope)
    db, key = state.get_db(), _key("zip", scope, period, settings, with_charts)
    return lambda: _ZIP_CACHE.get(key, lambda: batch_zip_bytes(db, period, settings, scope, with_charts=with_charts))


@st.cache_data(ttl=15 * 60, max_entries=64, show_spinner=False)
def _preview(version: str, scope_key: tuple, period_code: str, calendar: str, settings_key: tuple,
             _scope: Scope, _period: Period, _settings: metrics.Settings) -> ReportData:
    return collect(state.get_db(), _scope, _period, _settings)


def _bieu06_preview(data: ReportData) -> pd.DataFrame:
    headers = ["Nhận: tổng số", "Nhận: trực tuyến", "Nhận: trực tiếp, bưu chính", "Nhận: từ kỳ trước",
               "Đã GQ: tổng số", "Đã GQ: trước hạn", "Đã GQ: đúng hạn", "Đã GQ: quá hạn",
               "Đang GQ: tổng số", "Đang GQ: trong hạn", "Đang GQ: quá hạn"]
    rows = [*data.fields.to_dict("records"), data.total]
    frame = pd.DataFrame({"Lĩnh vực": [str(r["label"]) for r in rows]})
    for header, (_label, keys) in zip(headers, BIEU06_COLUMNS, strict=True):
        frame[header] = [bieu06_value(r, keys) for r in rows]
    cols = [ui.Col("Lĩnh vực", "Lĩnh vực")] + [ui.Col(h, h, "int") for h in headers]
    return ui.styled(ui.display_frame(frame, cols), cols)


def _downloads(data: ReportData, scope: Scope, period: Period, settings: metrics.Settings) -> None:
    with_charts = st.toggle("Kèm biểu đồ trong báo cáo Word", value=True, key=K_CHARTS,
                            help="Biểu đồ được vẽ bằng Chromium trên máy chủ; mất thêm vài giây.")
    if with_charts and find_chromium() is None:
        st.warning("Máy chủ chưa có Chromium: báo cáo Word sẽ được lập không kèm biểu đồ (có ghi chú trong tệp).")
    stem = pack_stem(data.unit_name, period, settings)
    get_pack = _pack_getter(scope, period, settings, with_charts)
    units, detail = state.restrict(scope).unit_codes, data.caption
    left, right = st.columns(2)
    left.download_button("Tải Excel – Biểu 06 và phụ lục", file_name=f"{stem}.xlsx",
                         data=ui.audited(lambda: get_pack().xlsx, "report", f"{stem}.xlsx", detail, units),
                         mime=XLSX_MIME, key="report_xlsx", on_click="ignore", icon=":material/table_view:",
                         type="primary", width="stretch")
    right.download_button("Tải Word – dự thảo báo cáo", file_name=f"{stem}.docx",
                          data=ui.audited(lambda: get_pack().docx, "report", f"{stem}.docx", detail, units),
                          mime=DOCX_MIME, key="report_docx", on_click="ignore", icon=":material/description:",
                          type="primary", width="stretch")
    ui.brief_button(scope, period, settings, "report_brief")
    st.caption("Tệp được lập khi bấm nút (vài giây nếu kèm biểu đồ). Excel gồm 3 trang tính: Biểu 06, "
               "Chỉ tiêu (so sánh kỳ trước, cùng kỳ năm trước), Hồ sơ quá hạn theo đơn vị giải quyết.")


def _preview_section(data: ReportData) -> None:
    st.subheader("Xem trước nội dung báo cáo")
    kpis = data.kpis
    sentences = [word.received_sentence(kpis), word.resolved_sentence(kpis),
                 word.pending_sentence(kpis, data.period.end), word.digital_sentence(kpis, data.counts),
                 *word.comparison_sentences(data),
                 word.annex_sentence(data)]
    with st.container(border=True):
        for sentence in sentences:
            st.markdown(fmt.md(sentence))
    st.caption(f"Biểu 06 – {fmt.md(data.period_sentence)} · Đơn vị tính: số hồ sơ TTHC")
    ui.grid(_bieu06_preview(data), hide_index=True, width="stretch", key="report_bieu06",
                 placeholder=ui.MISSING_CELL)


def _batch_section(scope: Scope, period: Period, settings: metrics.Settings) -> None:
    allowed = state.allowed_unit_codes()
    if allowed is not None and len(allowed) == 1:
        return  # a single-commune account has nothing to batch
    st.subheader("Bộ báo cáo cho từng xã/phường (tệp zip)")
    scope = state.restrict(scope)
    if len(scope.unit_codes) == 1:
        st.caption("Bỏ chọn đơn vị (hoặc chọn nhiều đơn vị) ở thanh bên để lập một tệp zip gồm báo cáo của "
                   "từng xã/phường và bảng so sánh.")
        return
    units = batch_units(state.get_db(), scope, period, settings)
    if units.empty:
        ui.empty_state()
        return
    st.caption(f"{len(units)} đơn vị có hồ sơ trong kỳ ({fmt.md(state.scope_caption(scope))}). Tệp zip gồm một thư mục "
               "Excel + Word cho mỗi đơn vị và bảng so sánh các đơn vị.")
    with_charts = st.toggle("Kèm biểu đồ (chậm hơn: khoảng 1–2 giây mỗi đơn vị)", value=False, key=K_BATCH_CHARTS)
    get_zip = _zip_getter(scope, period, settings, with_charts)
    zip_name = f"{ui.download_name('bao-cao')}{rules_tag(settings)}.zip"
    st.download_button("Tải bộ báo cáo (zip)",
                       data=ui.audited(lambda: get_zip()[1], "report_batch", zip_name,
                                       f"{len(units)} đơn vị · {period.caption}", list(units["key"])),
                       file_name=zip_name, mime=ZIP_MIME, key="report_zip",
                       on_click="ignore", icon=":material/folder_zip:")


def render() -> None:
    opened = ui.open_page(TITLE, "Lập báo cáo định kỳ tình hình, kết quả giải quyết TTHC theo Biểu 06 "
                                "(Excel) và dự thảo báo cáo (Word) từ số liệu đang xem.")
    if opened is None:
        return
    scope, period, settings = opened  # already restricted to the signed-in user's units
    db = state.get_db()
    try:
        data = _preview(db.version(), scope.key(), period.code, period.calendar, dataclasses.astuple(settings),
                        scope, period, settings)
    except EmptyReport:
        ui.empty_state()
        return
    _downloads(data, scope, period, settings)
    ui.safe_section(lambda: _preview_section(data), "nội dung xem trước")
    st.divider()
    ui.safe_section(lambda: _batch_section(scope, period, settings), "bộ báo cáo nhiều đơn vị")
