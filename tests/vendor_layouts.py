"""Export layouts of two real one-stop systems, rebuilt with invented data (commune: Xã Tứ Kỳ, 2026Q2).

Layouts follow the public source of the Thanh Hóa one-stop system (HuanVu201/DichVuCong_KhoaLuan_PASETO:
the register "Sổ theo dõi hồ sơ" as HTML and as the Excel template export, the dossier lists of
``XuatDanhSachHoSoTheoBaoCaoTongHop.tsx`` and the older ``XuatDanhSachHoSo.tsx`` whose body lacks the
"Người tiếp nhận" cell, the fee list ``XuatDanhSachHoSoTTTT.tsx``, the push body of
``SyncLocalDataToDVCQGService.cs``) and OpenCPS (VietOpenCPS: the dossier list with "Trực tuyến" true/false,
"Ngày gửi" and the "Hạn xử lý" timeliness text, grouped by agency with a count, numbering row under the
header; the statistics list export of ``exportDossierStatistic``). OpenCPS writes BIFF .xls; it is
built here as .xlsx, which goes through the same calamine reader and header rules.

Every builder writes one file into a directory and returns ``Layout(path, expected)``: the hand counts of
the KPI engine for Xã Tứ Kỳ in 2026Q2 and the loader's row outcome.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

UNIT_UPPER = "UBND XÃ TỨ KỲ"
UNIT = "UBND xã Tứ Kỳ"
PERIOD_LINE = "(Từ ngày 01/04/2026 đến ngày 30/06/2026)"
PERSON = ("Nguyễn Văn Mẫu", "Thôn Đông, xã Tứ Kỳ", "0912000111")  # invented applicant, must never be stored


@dataclass
class Layout:
    path: Path
    counts: dict[str, int]  # KPI counts (metrics.kpi_counts keys) for Xã Tứ Kỳ, 2026Q2
    loaded: int
    rejected: int = 0
    skipped: int = 0
    notes: dict = field(default_factory=dict)


def _cell(text: object, tag: str = "td", **attrs: object) -> str:
    extra = "".join(f' {name}="{value}"' for name, value in attrs.items())
    return f"<{tag}{extra}>{html.escape(str(text)) if text is not None else ''}</{tag}>"


def _row(cells: list[str]) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _html_page(*tables: str) -> str:
    return ("<html><head><meta charset='utf-8'></head><body>" + "".join(tables) + "</body></html>")


def _counts(received: int, online: int, direct: int, early: int, on_time: int, late: int, within: int,
            overdue: int, postal: int = 0) -> dict[str, int]:
    return {"received_total": received, "online": online, "direct": direct, "postal": postal, "early": early,
            "on_time": on_time, "late": late, "within_deadline": within, "overdue": overdue}


# --- Register (sổ theo dõi) -----------------------------------------------------------------------------
# code, received, due, result handed over ("" = not yet): early 2, on time 2, late 1, within 2, overdue 1.
REGISTER = [
    ("TK-SO-01", (2026, 4, 2, 8, 15), (2026, 4, 6), (2026, 4, 3)),
    ("TK-SO-02", (2026, 4, 3, 9, 0), (2026, 4, 7), (2026, 4, 7)),
    ("TK-SO-03", (2026, 4, 6, 10, 30), (2026, 4, 8), (2026, 4, 10)),
    ("TK-SO-04", (2026, 5, 15, 14, 0), (2026, 5, 20), (2026, 5, 18)),
    ("TK-SO-05", (2026, 6, 1, 7, 45), (2026, 6, 5), (2026, 6, 5)),
    ("TK-SO-06", (2026, 6, 10, 8, 0), (2026, 7, 15), None),
    ("TK-SO-07", (2026, 6, 11, 8, 30), (2026, 6, 16), None),
    ("TK-SO-08", (2026, 6, 20, 9, 10), (2026, 7, 3), None),
]
REGISTER_COUNTS = _counts(8, 0, 8, 2, 2, 1, 2, 1)


def _day(parts: tuple | None) -> str:
    return "" if parts is None else f"{parts[2]:02d}/{parts[1]:02d}/{parts[0]}"


def _time_day(parts: tuple) -> str:
    """dayjs "HH:mm, DD/MM/YYYY" (the register's reception column)."""
    return f"{parts[3]:02d}:{parts[4]:02d}, {_day(parts)}"


def _stamp(parts: tuple) -> str:
    return f"{_day(parts)} {parts[3]:02d}:{parts[4]:02d}:00"


def register_html(directory: Path, *, break_data_table: bool = False) -> Layout:
    """SoTheoDoiHoSo.tsx: a title <table> (unit, national motto, name, period) then the data table with a
    two-row header ("Ngày, tháng, năm" over Nhận hồ sơ / Hẹn trả kết quả / Ngày nhận kết quả)."""
    title = ("<table><thead>"
             + _row([_cell(UNIT_UPPER, colspan=4),
                     "<td colspan='5'><strong>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br/>"
                     "<u>Độc lập - Tự do - Hạnh phúc</u></strong></td>"])
             + _row(["<td colspan='9'><strong>SỔ THEO DÕI TÌNH HÌNH TIẾP NHẬN HỒ SƠ TTHC</strong><br/>"
                     f"<i>{PERIOD_LINE}</i></td>"])
             + "<tr><p></p></tr></thead></table>")
    code_header = "Số thứ tự hồ sơ" if break_data_table else "Mã hồ sơ"
    head = (_row([_cell("STT", rowspan=2), _cell(code_header, rowspan=2), _cell("", rowspan=2, style="display: none"),
                  _cell("Nội dung hồ sơ", rowspan=2), _cell("Họ tên chủ hồ sơ", rowspan=2),
                  _cell("Địa chỉ chủ hồ sơ", rowspan=2), _cell("Số điện thoại", rowspan=2),
                  _cell("Ngày, tháng, năm", colspan=3)])
            + _row([_cell("Nhận hồ sơ"), _cell("Hẹn trả kết quả"), _cell("Ngày nhận kết quả")]))
    body = "".join(
        _row([_cell(index), _cell(code), _cell(""), _cell("Cấp bản sao trích lục hộ tịch"), _cell(PERSON[0]),
              _cell(PERSON[1]), _cell(PERSON[2]), _cell(_time_day(received)), _cell(_day(due)),
              _cell(_day(returned))])
        for index, (code, received, due, returned) in enumerate(REGISTER, start=1))
    data = f"<table id='tableToExcel'><thead>{head}</thead><tbody id='data'>{body}</tbody></table>"
    path = directory / "so-theo-doi-ho-so.xls"
    path.write_text(_html_page(title, data), encoding="utf-8")
    return Layout(path, REGISTER_COUNTS, loaded=len(REGISTER))


def register_xlsx(directory: Path) -> Layout:
    """ExportSoTheoDoiHoSoService: the Excel template (group name, period) with merged two-row headers;
    dates as "dd/MM/yyyy HH:mm:ss" text, result day under "Trả kết quả" > "Ngày nhận kết quả"."""
    path = directory / "So theo doi ho so_2026_07_01_08_00.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    sheet.merge_range(0, 0, 0, 4, UNIT_UPPER)
    sheet.merge_range(0, 5, 0, 10, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    sheet.merge_range(1, 0, 1, 10, "SỔ THEO DÕI HỒ SƠ")
    sheet.merge_range(2, 0, 2, 10, "Từ ngày 01/04/2026 đến ngày 30/06/2026 ")
    for column, text in enumerate(["STT", "Mã hồ sơ", "Trích yếu hồ sơ", "Chủ hồ sơ", "Địa chỉ", "Số điện thoại"]):
        sheet.merge_range(4, column, 5, column, text)
    sheet.merge_range(4, 6, 4, 7, "Ngày, tháng, năm")
    sheet.merge_range(4, 8, 4, 9, "Trả kết quả")
    sheet.merge_range(4, 10, 5, 10, "Địa bàn")
    sheet.write_row(5, 6, ["Nhận hồ sơ", "Hẹn trả kết quả", "Ngày nhận kết quả", "Người nhận hồ sơ"])
    for index, (code, received, due, returned) in enumerate(REGISTER, start=1):
        code = code.replace("SO", "XL")
        returned_text = "" if returned is None else _stamp((*returned, 16, 0))
        sheet.write_row(5 + index, 0, [index, code, "Chứng thực bản sao", PERSON[0], PERSON[1], PERSON[2],
                                       _stamp(received), _stamp((*due, 17, 0)), returned_text, "Lê Thị Cán Bộ",
                                       "Xã Tứ Kỳ - Hải Phòng"])
    book.close()
    return Layout(path, REGISTER_COUNTS, loaded=len(REGISTER))


# --- Thanh Hóa dossier lists ------------------------------------------------------------------------------
# status, received, submitted, due, end: early 1, on time 2 (one withdrawn, counted on time), late 1,
# within 1, overdue 1; two never received (skipped); one resolved without an end date (rejected).
LIST_ROWS = [
    ("TK-DS-01", "Đã trả kết quả", "02/04/2026", "06/04/2026", "03/04/2026"),
    ("TK-DS-02", "Đã xử lý xong", "03/04/2026", "07/04/2026", "07/04/2026"),
    ("TK-DS-03", "Đã trả kết quả", "06/04/2026", "08/04/2026", "10/04/2026"),
    ("TK-DS-04", "Đang xử lý", "10/06/2026", "15/07/2026", ""),
    ("TK-DS-05", "Yêu cầu bổ sung giấy tờ", "11/06/2026", "16/06/2026", ""),
    ("TK-DS-06", "Công dân yêu cầu rút hồ sơ", "05/05/2026", "10/05/2026", "06/05/2026"),
]
NOT_RECEIVED = [
    ("TK-DS-07", "Không được tiếp nhận", "", "", ""),
    ("TK-DS-08", "Mới đăng ký", "", "", ""),
]
RESOLVED_WITHOUT_END = [("TK-DS-09", "Đã trả kết quả", "12/05/2026", "20/05/2026", "")]
LIST_COUNTS = _counts(6, 0, 6, 1, 2, 1, 1, 1)


def _list_header(cells: list[str]) -> str:
    return _row([f"<td style='border: 1px solid #333'><strong>{html.escape(c)}</strong></td>" for c in cells])


def dossier_list_html(directory: Path) -> Layout:
    """XuatDanhSachHoSoTheoBaoCaoTongHop.tsx: empty title rows, 12 aligned columns, unit in a column."""
    header = ["STT", "Đơn vị tiếp nhận", "Tên thủ tục hành chính", "Mã hồ sơ", "Trạng thái", "Địa chỉ",
              "Người nộp", "Chủ hồ sơ", "Ngày nộp hồ sơ", "Ngày nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý"]
    rows = [*LIST_ROWS, *NOT_RECEIVED, *RESOLVED_WITHOUT_END]
    body = "".join(
        _row([_cell(i), _cell(UNIT), _cell("Đăng ký khai sinh"), _cell(code), _cell(status), _cell(PERSON[1]),
              _cell(PERSON[0]), _cell(PERSON[0]), _cell(received or "01/04/2026"), _cell(received), _cell(due),
              _cell(end)])
        for i, (code, status, received, due, end) in enumerate(rows, start=1))
    table = ("<table id='danhSachHoSoTable'><thead><tr><td colspan='9'><br/></td></tr>"
             "<tr><td colspan='8'><strong></strong></td></tr>" + _list_header(header)
             + f"</thead><tbody id='data'>{body}</tbody></table>")
    path = directory / "Danh sach ho so.xls"
    path.write_text(_html_page(table), encoding="utf-8")
    return Layout(path, LIST_COUNTS, loaded=len(LIST_ROWS), rejected=1, skipped=2)


def older_list_html(directory: Path, *, cells_missing: int = 1) -> Layout:
    """XuatDanhSachHoSo.tsx: 12 header cells ("Người tiếp nhận" included) but 11 body cells: the body never
    writes the receiving officer, so every value from the 3rd column on sits one header to the left."""
    header = ["STT", "Đơn vị tiếp nhận", "Người tiếp nhận", "Tên thủ tục hành chính", "Mã hồ sơ", "Trạng thái",
              "Địa chỉ", "Chủ hồ sơ", "Ngày nộp hồ sơ", "Ngày nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý"]
    body = ""
    for i, (code, status, received, due, end) in enumerate(LIST_ROWS, start=1):
        cells = [i, UNIT, "Đăng ký khai sinh", code, status, PERSON[1], PERSON[0], received, received, due, end]
        if cells_missing > 1:
            cells = cells[:2] + cells[3:]  # a second template bug: the procedure cell is gone too
        body += _row([_cell(c) for c in cells])
    table = ("<table id='danhSachHoSoTable'><thead><tr><td colspan='9'><br/></td></tr>"
             "<tr><td colspan='8'><strong></strong></td></tr>" + _list_header(header)
             + f"</thead><tbody id='data'>{body}</tbody></table>")
    path = directory / "Danh sach ho so (cu).xls"
    path.write_text(_html_page(table), encoding="utf-8")
    return Layout(path, LIST_COUNTS, loaded=len(LIST_ROWS))


# Fee list: channel labels of KENH_THUC_HIEN; no status, no due date: all pending within the deadline.
FEES = [
    ("TK-PL-01", "Trực tiếp", "02/04/2026", "50.000", "0"),
    ("TK-PL-02", "Trực tuyến", "03/04/2026", "0", "8.000"),
    ("TK-PL-03", "Trực tiếp", "14/05/2026", "30.000", "0"),
    ("TK-PL-04", "Qua bưu chính công ích", "20/05/2026", "0", "5.000"),
    ("TK-PL-05", "Trực tuyến", "02/06/2026", "100.000", "0"),
    ("TK-PL-06", "Trực tiếp", "25/06/2026", "0", "10.000"),
]
FEE_COUNTS = _counts(6, 2, 3, 0, 0, 0, 6, 0, postal=1)


def fee_list_html(directory: Path) -> Layout:
    """XuatDanhSachHoSoTTTT.tsx: title, period, "Đơn vị thống kê: …", 12 columns, a "Tổng số" row."""
    header = ["STT", "Mã hồ sơ", "Loại tiếp nhận", "Tên người nộp", "Số biên lai", "Mẫu số", "Ký hiệu",
              "Ngày tiếp nhận", "Ngày thu", "Phí (VNĐ)", "Lệ phí (VNĐ)", "Tổng (VNĐ)"]
    body = "".join(
        _row([_cell(i), _cell(code), _cell(channel), _cell(PERSON[0]), _cell(f"00{i}"), _cell("01BLP0-001"),
              _cell("TK-26E"), _cell(received), _cell(received), _cell(fee), _cell(charge), _cell(fee)])
        for i, (code, channel, received, fee, charge) in enumerate(FEES, start=1))
    total = _row(["<td colspan='9'><strong>Tổng số</strong></td>", _cell("180.000"), _cell("23.000"),
                  _cell("203.000")])
    table = ("<table id='danhSachHoSoTable'><thead><tr></tr>"
             "<tr><td colspan='12'>DANH SÁCH HỒ SƠ NỘP PHÍ, LỆ PHÍ</td></tr>"
             f"<tr><td colspan='12'>{PERIOD_LINE}</td></tr>"
             f"<tr><td colspan='12'>Đơn vị thống kê: {UNIT}</td></tr>"
             "<tr><td colspan='8'><strong></strong></td></tr>" + _list_header(header)
             + f"</thead><tbody id='data'>{body}{total}</tbody></table>")
    path = directory / "Danh sach nop phi, le phi.xls"
    path.write_text(_html_page(table), encoding="utf-8")
    return Layout(path, FEE_COUNTS, loaded=len(FEES))


# --- OpenCPS ------------------------------------------------------------------------------------------------
# online, submitted, received, "Hạn xử lý" text, status. Resolved (no end dates): early 2, on time 3 (one refused
# while processing, status 8, counted on time), late 1; pending: within 2 (one paused), overdue 2; one online
# submission nobody received ("Chờ xử lý" without reception date) is skipped, one with a reception date counts.
OPENCPS = [
    ("TK-OC-01", "true", "01/04/2026 08:00", "01/04/2026 09:00", "Sớm hạn", "Đã trả kết quả"),
    ("TK-OC-02", "false", "", "02/04/2026 10:00", "Sớm hạn", "Hoàn thành"),
    ("TK-OC-03", "true", "03/04/2026 07:30", "03/04/2026 08:00", "Đúng hạn", "Đã trả kết quả"),
    ("TK-OC-04", "false", "", "06/04/2026 14:00", "Quá hạn", "Đã trả kết quả"),
    ("TK-OC-05", "false", "", "07/05/2026 09:00", "Đúng hạn", "Hoàn thành"),
    ("TK-OC-06", "true", "10/06/2026 08:00", "10/06/2026 09:30", "Còn 3 ngày", "Đang xử lý"),
    ("TK-OC-07", "false", "", "11/06/2026 15:00", "Quá 2 ngày", "Đang xử lý"),
    ("TK-OC-08", "true", "12/06/2026 08:00", "12/06/2026 08:30", "Tạm dừng xử lý", "Chờ bổ sung"),
    ("TK-OC-09", "true", "20/06/2026 21:00", "", "", "Chờ xử lý"),
    ("TK-OC-10", "false", "", "15/05/2026 10:00", "", "Từ chối xử lý"),
    ("TK-OC-11", "true", "14/06/2026 20:00", "15/06/2026 08:00", "Quá 1,5 ngày", "Chờ xử lý"),
]
OPENCPS_COUNTS = _counts(10, 5, 5, 2, 3, 1, 2, 2)
OPENCPS_HEADER = ["STT", "Mã hồ sơ", "Tên thủ tục", "Lĩnh vực", "Chủ hồ sơ", "Địa chỉ", "Số điện thoại",
                  "Trực tuyến", "Ngày gửi", "Ngày tiếp nhận", "Hạn xử lý", "Trạng thái", "Bước xử lý", "Ghi chú"]


def opencps_list(directory: Path) -> Layout:
    """OpenCPS dossier list: title with the agency, header, numbering row (1)…(14), a group row per agency
    with its count "( 11 )", then the dossiers (default columns: no end date, "Hạn xử lý" as text)."""
    path = directory / "danh_sach_ho_so_opencps.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Danh sách")
    width = len(OPENCPS_HEADER)
    sheet.merge_range(0, 0, 0, 5, UNIT_UPPER)
    sheet.merge_range(1, 0, 1, width - 1, "DANH SÁCH HỒ SƠ")
    sheet.merge_range(2, 0, 2, width - 1, PERIOD_LINE)
    sheet.write_row(4, 0, OPENCPS_HEADER)
    sheet.write_row(5, 0, [f"({n})" for n in range(1, width + 1)])
    sheet.merge_range(6, 0, 6, width - 1, f"{UNIT} ( {len(OPENCPS)} )")
    for index, (code, online, sent, received, due_text, status) in enumerate(OPENCPS, start=1):
        sheet.write_row(6 + index, 0, [index, code, "Đăng ký thường trú", "Đăng ký, quản lý cư trú", PERSON[0],
                                       PERSON[1], PERSON[2], online, sent, received, due_text, status,
                                       "Cán bộ thụ lý", ""])
    book.close()
    return Layout(path, OPENCPS_COUNTS, loaded=len(OPENCPS) - 1, skipped=1)


# Statistics list (exportDossierStatistic, "HỒ SƠ ĐANG THỤ LÝ GIẢI QUYẾT"): here "Hạn xử lý" holds dates.
STATISTIC = [
    ("TK-TK-01", "02/04/2026 08:00", "10/07/2026 17:00", "Đang xử lý"),
    ("TK-TK-02", "20/05/2026 09:00", "29/05/2026 17:00", "Đang xử lý"),
    ("TK-TK-03", "01/06/2026 10:00", "30/06/2026 17:00", "Chờ bổ sung"),
    ("TK-TK-04", "15/06/2026 14:00", "19/06/2026 17:00", "Đang xử lý"),
]
STATISTIC_COUNTS = _counts(4, 0, 4, 0, 0, 0, 2, 2)


def opencps_statistic(directory: Path) -> Layout:
    path = directory / "HO_SO_DANG_THU_LY.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Report")
    sheet.merge_range(0, 0, 0, 6, UNIT_UPPER)
    sheet.merge_range(1, 0, 1, 6, "HỒ SƠ ĐANG THỤ LÝ GIẢI QUYẾT")
    sheet.merge_range(2, 0, 2, 6, "Từ ngày 01/04/2026 đến ngày 30/06/2026")
    sheet.write_row(4, 0, ["STT", "Số hồ sơ", "Tên hồ sơ", "Chủ hồ sơ", "Ngày tiếp nhận", "Hạn xử lý", "Trạng thái"])
    sheet.write_row(5, 0, [str(n) for n in range(1, 8)])
    for index, (code, received, due, status) in enumerate(STATISTIC, start=1):
        sheet.write_row(5 + index, 0, [str(index), code, "Hồ sơ đăng ký thường trú", PERSON[0], received, due,
                                       status])
    sheet.write_row(6 + len(STATISTIC), 0, ["Tổng số: 4"])
    book.close()
    return Layout(path, STATISTIC_COUNTS, loaded=len(STATISTIC))


# --- Push body to the national portal (DongBoHoSoMC) ------------------------------------------------------
# The push rewrites statuses 5, 6 and 8 into 9 and leaves the end dates empty: that row is rejected.
PUSH = [
    {"MaHoSo": "TK-DB-01", "KenhThucHien": "1", "NgayTiepNhan": "20260402080000", "NgayHenTra": "20260406170000",
     "NgayKetThucXuLy": "20260403100000", "TrangThaiHoSo": "10"},
    {"MaHoSo": "TK-DB-02", "KenhThucHien": "1", "NgayTiepNhan": "20260403080000", "NgayHenTra": "20260407170000",
     "NgayKetThucXuLy": "", "NgayTra": "", "TrangThaiHoSo": "9"},
    {"MaHoSo": "TK-DB-03", "KenhThucHien": "1", "NgayTiepNhan": "20260610080000", "NgayHenTra": "20260715170000",
     "TrangThaiHoSo": "4"},
    {"MaHoSo": "TK-DB-04", "KenhThucHien": "2", "NgayTiepNhan": "20260505080000", "NgayHenTra": "20260508170000",
     "NgayKetThucXuLy": "20260508090000", "TrangThaiHoSo": "10"},
]
PUSH_COUNTS = _counts(3, 1, 2, 1, 1, 0, 1, 0)


def portal_push(directory: Path) -> Layout:
    records = [{**record, "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh", "ChuHoSo": PERSON[0],
                "SoDienThoai": PERSON[2], "DonViXuLy": UNIT, "NgayNopHoSo": record["NgayTiepNhan"]}
               for record in PUSH]
    path = directory / "dongbo_dvcqg.json"
    path.write_text(json.dumps({"service": "DongBoHoSoMC", "isUpdating": "false", "data": records},
                               ensure_ascii=False), encoding="utf-8")
    return Layout(path, PUSH_COUNTS, loaded=3, rejected=1)


BUILDERS = {
    "register_html": register_html,
    "register_xlsx": register_xlsx,
    "dossier_list_html": dossier_list_html,
    "older_list_html": older_list_html,
    "fee_list_html": fee_list_html,
    "opencps_list": opencps_list,
    "opencps_statistic": opencps_statistic,
    "portal_push": portal_push,
}
