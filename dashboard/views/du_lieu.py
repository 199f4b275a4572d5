"""Dữ liệu: upload exports (admin), import history, rejected rows, data-quality checks, metric definitions.

Uploads, the import history and the rejected rows are admin-only: the upload widget is not drawn for
other roles AND the import path itself calls ``auth.require_admin`` (a hand-made request cannot import);
history and rejected rows may hold any commune's raw values. Data-quality checks use the restricted scope.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, time
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth_ui, data, pickers, state
from dashboard import components as ui
from loaders.model import LoadError
from motcua import audit, auth, fmt, metrics
from motcua import db as dbmod
from motcua.units import UnitError

LOG = logging.getLogger(__name__)
TITLE = "Dữ liệu"
UPLOAD_TYPES = ["xlsx", "xls", "xml", "html", "htm", "csv", "json"]
RESULT_LABELS = {"loaded": "Đã nạp", "duplicate_file": "Đã nạp trước đó (bỏ qua)", "failed": "Lỗi",
                 "replaced": "Đã được nạp lại (--replace)"}
RESULT_COLS = (
    ui.Col("file_name", "Tệp"), ui.Col("status_label", "Kết quả"), ui.Col("rows_read", "Số dòng đọc", "int"),
    ui.Col("rows_loaded", "Số dòng nạp", "int"), ui.Col("rows_new", "Hồ sơ mới", "int"),
    ui.Col("rows_updated", "Hồ sơ cập nhật", "int"), ui.Col("rows_rejected", "Số dòng bị loại", "int"),
    ui.Col("message", "Ghi chú"),
)
IMPORT_COLS = (
    ui.Col("import_id", "Lần nạp", "int"), ui.Col("imported_at", "Thời điểm nạp", "datetime"),
    ui.Col("file_name", "Tệp"), ui.Col("format", "Định dạng"), ui.Col("unit_code", "Mã đơn vị"),
    ui.Col("period_from", "Từ ngày", "date"), ui.Col("period_to", "Đến ngày", "date"),
    ui.Col("rows_read", "Số dòng đọc", "int"), ui.Col("rows_loaded", "Số dòng nạp", "int"),
    ui.Col("rows_rejected", "Số dòng bị loại", "int"), ui.Col("status_label", "Kết quả"), ui.Col("message", "Ghi chú"),
    ui.Col("imported_by", "Người nạp"),
)
REJECT_COLS = (
    ui.Col("import_id", "Lần nạp", "int"), ui.Col("file_name", "Tệp"), ui.Col("row_number", "Dòng", "int"),
    ui.Col("column_name", "Cột"), ui.Col("raw_value", "Giá trị"), ui.Col("reason", "Lý do"),
)
QUALITY_COLS = (ui.Col("label", "Kiểm tra"), ui.Col("count", "Số hồ sơ", "int"), ui.Col("examples", "Ví dụ mã hồ sơ"))
DOC_COLS = (ui.Col("label", "Chỉ tiêu / quy ước"), ui.Col("formula", "Cách tính"), ui.Col("source", "Căn cứ"),
            ui.Col("key", "Mã"))


def run_import(files, unit_text: str, user: auth.User) -> None:
    """Import uploaded files as ``user``; raises ``auth.AccessDenied`` unless the user is an admin."""
    auth.require_admin(user, "nạp dữ liệu")  # checked on the import path, not only by hiding the form
    from loaders.pipeline import import_files  # the import pipeline is only needed on this page

    with tempfile.TemporaryDirectory(prefix="motcua-upload-") as folder:
        specs = []
        for index, upload in enumerate(files):
            # Saved under a neutral name: the original name is shown, never used as a path.
            path = Path(folder) / f"upload-{index}{Path(upload.name).suffix.lower()}"
            path.write_bytes(upload.getvalue())
            specs.append((path, upload.name))
        summary = import_files(specs, db_path=state.get_db().path, unit=unit_text or None,
                               user=user.username)
    for result in summary.files:
        audit.record_quietly(audit.Event(
            "import", user.username, result.file_name, [result.unit_code] if result.unit_code else [],
            f"{RESULT_LABELS.get(result.status, result.status)} · {result.rows_loaded} dòng nạp, "
            f"{result.rows_rejected} dòng bị loại · sha256 {result.sha256[:12]}",
            role=user.role, address=auth_ui.client_address()), state.get_db().path)
    data.clear_caches()
    frame = pd.DataFrame([vars(f) for f in summary.files])
    frame["status_label"] = frame["status"].map(RESULT_LABELS).fillna(frame["status"])
    st.session_state["last_import"] = frame


def _upload_section() -> None:
    st.subheader("Nạp tệp xuất từ phần mềm một cửa")
    user = state.current_user()
    if not user.is_admin:
        st.caption("Chỉ quản trị viên được nạp dữ liệu.")
        return
    if getattr(state.get_db(), "read_only", False):
        st.caption("Đang xem kho Parquet (chỉ đọc): nạp tệp vào cơ sở dữ liệu rồi chạy `motcua lake export`.")
        return
    with st.form("upload_form", clear_on_submit=True):
        files = st.file_uploader("Chọn tệp (Excel, HTML, XML, CSV, JSON)", type=UPLOAD_TYPES,
                                 accept_multiple_files=True, key="upload_files")
        unit_text = st.text_input("Đơn vị (chỉ khi tệp không ghi tên xã/phường)", key="upload_unit",
                                  placeholder="Ví dụ: Xã Tứ Kỳ, TP Hải Phòng hoặc mã 10699")
        submitted = st.form_submit_button("Nạp dữ liệu", type="primary", icon=":material/upload:")
    if submitted and files:
        try:
            with st.spinner("Đang đọc và kiểm tra tệp…"):
                run_import(files, unit_text.strip(), user)
        except (LoadError, UnitError, auth.AccessDenied) as exc:
            st.error(fmt.md(exc))  # messages quote file names and header cells of the upload
        except dbmod.DatabaseUnavailable as exc:
            st.error(fmt.md(exc))
        except Exception as exc:  # noqa: BLE001 - an import bug must not break the page; nothing was published
            LOG.exception("import failed")
            st.error(f"Lỗi không mong đợi khi nạp dữ liệu ({type(exc).__name__}: {fmt.md(exc)}). Dữ liệu đã công bố không "
                     "thay đổi; hãy gửi tệp và thông báo này cho quản trị viên.")
    elif submitted:
        st.warning("Chưa chọn tệp nào.")
    result = st.session_state.get("last_import")
    if result is not None:
        failed = result[result["status"] == "failed"]
        for row in failed.itertuples():
            st.error(f"{fmt.md(row.file_name)}: {fmt.md(row.message)}")
        if (result["status"] == "loaded").any():
            st.success("Đã nạp xong; các trang đã dùng dữ liệu mới.")
        ui.table(result, RESULT_COLS, "upload_result", "Kết quả lần nạp gần nhất", file_stem="ket-qua-nap")


def _index_inputs_section() -> None:
    """Admin: the service-index components the exports cannot give (công khai, hài lòng, PAKN, …)."""
    from motcua import index_estimate as ie

    st.subheader("Thành phần chỉ số phục vụ nhập tay")
    scope, period, settings = state.current_scope(), state.current_period(), state.current_settings()
    if len(scope.unit_codes) != 1:
        st.caption("Chọn một xã/phường ở thanh bên để nhập điểm các thành phần không tính được từ hồ sơ "
                   "(công khai, hài lòng, phản ánh kiến nghị…), hoặc nạp tệp CSV cho nhiều đơn vị bên dưới.")
    else:
        labels = {c.key: f"{c.label} (tối đa {c.max_points:g} điểm)" for c in ie.COMPONENTS if c.kind == ie.ENTERED}
        with st.form("index_input_form", clear_on_submit=True):
            component = st.selectbox("Thành phần", list(labels), format_func=labels.get, placeholder="Chọn…")
            points = st.number_input("Điểm", min_value=0.0, max_value=20.0, step=0.25, format="%.2f")
            note = st.text_input("Nguồn số liệu (ghi chú)", placeholder="Ví dụ: kết quả khảo sát quý 3")
            saved = st.form_submit_button(f"Lưu cho {state.scope_caption(scope)} · {period.label}")
        if saved:
            _save_inputs(lambda: ie.save_inputs(state.get_db().path, [ie.InputRow(
                scope.unit_codes[0], period, component, float(points), settings.index_version, note or None)],
                state.current_user().username))
    upload = st.file_uploader("Nạp tệp CSV (cột don_vi; ky; thanh_phan; diem; ghi_chu tùy chọn)", type=["csv"],
                              key="index_input_csv")
    if upload is not None and st.button("Nạp điểm từ tệp", key="index_input_import"):
        _save_inputs(lambda: _import_inputs(upload, settings))


def _import_inputs(upload, settings) -> int:
    from motcua import index_estimate as ie
    from motcua.units import resolve_unit

    cur = state.get_db().cursor()
    try:
        rows = ie.parse_inputs_csv(upload.getvalue(), upload.name, lambda text: resolve_unit(cur, text).code,
                                   settings.calendar, settings.index_version)
    finally:
        cur.close()
    allowed = state.allowed_unit_codes()
    if allowed is not None and any(row.unit_code not in allowed for row in rows):
        raise ValueError("Tệp có đơn vị ngoài phạm vi tài khoản; không nạp dòng nào.")
    return ie.save_inputs(state.get_db().path, rows, state.current_user().username)


def _save_inputs(save) -> None:
    try:
        count = save()
    except (ValueError, UnitError) as exc:
        st.error(str(exc))
        return
    data.clear_caches()
    st.success(f"Đã lưu {count} điểm thành phần; Tổng quan và So sánh dùng ngay.")


def _history(version: str) -> None:
    st.subheader("Lịch sử nạp dữ liệu")
    frame = data.imports(version)
    if not frame.empty:
        frame = frame.assign(status_label=frame["status"].map(RESULT_LABELS).fillna(frame["status"]))
    ui.table(frame, IMPORT_COLS, "data_imports", "Các lần nạp, mới nhất trước", file_stem="lich-su-nap",
             empty_text="Chưa có lần nạp dữ liệu nào.")
    st.subheader("Dòng bị loại và lý do")
    ui.table(data.rejects(version), REJECT_COLS, "data_rejects", "Các dòng không nạp được (tối đa 5.000 dòng)",
             file_stem="dong-bi-loai", empty_text="Không có dòng nào bị loại.")


AUDIT_COLS = (
    ui.Col("at", "Thời điểm", "datetime"), ui.Col("user", "Người dùng"), ui.Col("role", "Vai trò"),
    ui.Col("action_label", "Thao tác"), ui.Col("target", "Tệp"), ui.Col("units_text", "Đơn vị"),
    ui.Col("detail", "Chi tiết"), ui.Col("address", "Địa chỉ"), ui.Col("via", "Qua"),
)
AUDIT_LIMIT = 2000


def _audit_log() -> None:
    """Admins only: who signed in, imported, took which export or report (motcua/audit.py)."""
    st.subheader("Nhật ký truy cập")
    left, middle, right = st.columns(3)
    actions = left.multiselect("Thao tác", list(audit.ACTIONS), format_func=audit.ACTIONS.get, key="audit_actions",
                               placeholder="Tất cả thao tác")
    user_text = middle.text_input("Người dùng", key="audit_user", placeholder="Tên đăng nhập")
    since = right.date_input("Từ ngày", value=None, key="audit_since", format="DD/MM/YYYY")
    where = audit.Filter(users=[user_text.strip()] if user_text.strip() else (), actions=tuple(actions),
                         since=datetime.combine(since, time.min) if since else None)
    try:
        frame = pd.DataFrame(audit.read(state.get_db().path, where, limit=AUDIT_LIMIT))
    except audit.AuditError as exc:
        st.warning(fmt.md(exc))
        return
    if not frame.empty:
        frame = frame.assign(at=pd.to_datetime(frame["at"]),
                             action_label=frame["action"].map(audit.ACTIONS).fillna(frame["action"]),
                             units_text=frame["units"].map(audit.describe_units))
    ui.table(frame, AUDIT_COLS, "data_audit",
             f"Mới nhất trước, tối đa {AUDIT_LIMIT} dòng · tệp {audit.audit_path(state.get_db().path).name} "
             "(chỉ ghi thêm, mỗi dòng có mã băm của dòng trước; kiểm tra bằng lệnh motcua audit --verify)",
             file_stem="nhat-ky-truy-cap", empty_text="Chưa có sự kiện nào trong nhật ký.")


def _quality() -> None:
    st.subheader("Cảnh báo chất lượng dữ liệu")
    scope = state.current_scope()
    frame = data.data_quality(scope)
    problems = frame[frame["count"] > 0] if not frame.empty else frame
    ui.table(problems, QUALITY_COLS, "data_quality", f"{state.scope_caption(scope)} · toàn bộ dữ liệu đã nạp",
             file_stem="chat-luong-du-lieu", empty_text="Không phát hiện vấn đề dữ liệu.")


def _reconciliation() -> None:
    """Which unit a dossier counts for (setting 'Hồ sơ tính cho đơn vị'): both views side by side."""
    st.subheader("Đối chiếu nơi tiếp nhận và nơi giải quyết")
    scope, period, settings = state.current_scope(), state.current_period(), state.current_settings()
    counts = data.attribution_reconciliation(scope, period, settings)
    frame = pd.DataFrame([
        {"label": "Tiếp nhận và giải quyết tại đơn vị đã chọn", "count": counts["both_here"]},
        {"label": "Tiếp nhận tại đây, đơn vị khác giải quyết", "count": counts["resolved_elsewhere"]},
        {"label": "Đơn vị khác tiếp nhận, giải quyết tại đây", "count": counts["received_elsewhere"]},
    ])
    ui.table(frame, [ui.Col("label", "Hồ sơ mới tiếp nhận trong kỳ"), ui.Col("count", "Số hồ sơ", "int")],
             "data_reconciliation", f"{state.scope_caption(scope)} · {period.caption}",
             file_stem="doi-chieu-noi-tiep-nhan-giai-quyet")


def _coverage(by_file: bool) -> None:
    """Share of dossiers whose export carries each attribute: a rate over few known values is not 0%."""
    st.subheader("Độ phủ dữ liệu (tỷ lệ hồ sơ có thông tin)")
    scope = state.current_scope()
    cols = [ui.Col(name, label, "pct") for name, (label, _sql) in metrics.COVERAGE_ATTRIBUTES.items()]
    st.caption("Tệp xuất không có cột nào đó thì hồ sơ là chưa rõ (không phải 'không'): tỷ lệ chỉ tính trên hồ sơ "
               "có dữ liệu và ghi độ phủ; không có hồ sơ nào thì ghi 'không có dữ liệu'.")
    per_unit = data.coverage_table(scope, "unit")
    ui.table(per_unit, [ui.Col("label", "Đơn vị"), ui.Col("dossiers", "Số hồ sơ", "int"), *cols], "data_coverage_unit",
             f"{state.scope_caption(scope)} · theo đơn vị", file_stem="do-phu-theo-don-vi",
             empty_text="Chưa có hồ sơ.")
    if by_file:  # file names are admin information
        per_file = data.coverage_table(scope, "file")
        ui.table(per_file, [ui.Col("label", "Tệp"), ui.Col("dossiers", "Số hồ sơ", "int"), *cols],
                 "data_coverage_file", f"{state.scope_caption(scope)} · theo tệp đã nạp (lần nạp cuối của hồ sơ)",
                 file_stem="do-phu-theo-tep", empty_text="Chưa có hồ sơ.")


def _definitions() -> None:
    st.subheader("Định nghĩa chỉ tiêu và căn cứ pháp lý")
    ui.table(pd.DataFrame(metrics.METRIC_DOCS), DOC_COLS, "data_definitions",
             "Mỗi tỷ lệ = tổng tử số / tổng mẫu số; không lấy trung bình các tỷ lệ.", file_stem="dinh-nghia-chi-tieu")


def render() -> None:
    pickers.render_sidebar()
    st.title(TITLE)
    st.caption("Nạp tệp, lịch sử nạp, dòng bị loại, kiểm tra dữ liệu và định nghĩa các chỉ tiêu.")
    _upload_section()
    try:
        version = state.get_db().version()
        state.get_db().cursor().close()
    except dbmod.DatabaseUnavailable as exc:
        st.info(fmt.md(exc))
        _definitions()
        return
    ui.freshness(state.current_scope(), state.current_period())
    if state.is_admin():  # raw values of rejected rows can hold other communes' data
        ui.safe_section(lambda: _history(version), "lịch sử nạp")
        ui.safe_section(_index_inputs_section, "thành phần chỉ số phục vụ")
        ui.safe_section(_audit_log, "nhật ký truy cập")
    else:
        st.caption("Lịch sử nạp và các dòng bị loại chỉ dành cho quản trị viên.")
    ui.safe_section(_quality, "kiểm tra dữ liệu")
    ui.safe_section(_reconciliation, "đối chiếu nơi tiếp nhận và nơi giải quyết")
    ui.safe_section(lambda: _coverage(state.is_admin()), "độ phủ dữ liệu")
    _definitions()
