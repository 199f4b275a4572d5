"""Excel workbook of a report pack (xlsxwriter).

Sheet 1 "Biểu 06": the 13-column "Tình hình, kết quả giải quyết TTHC" form (TT 01/2020/TT-VPCP,
Biểu 06/VPCP/KSTT), one row per lĩnh vực plus the total. Sheet 2 "Chỉ tiêu": the other KPIs with
numerator, denominator and comparisons. Sheet 3 "Hồ sơ quá hạn": the annex list by resolving unit.
Cells stay numeric with number formats; only labels are text.
"""

from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from motcua import metrics
from motcua.fmt import (
    EXCEL_DATE_FORMAT,
    EXCEL_DATETIME_FORMAT,
    EXCEL_INT_FORMAT,
    EXCEL_PCT_FORMAT,
    NO_DATA,
    fmt_coverage,
    fmt_datetime,
    fmt_int,
    fmt_reappointed,
)
from motcua.report.data import BIEU06_COLUMNS, ReportData, bieu06_value, metric_count, unit_in_prose
from motcua.safe_export import XLSXWRITER_OPTIONS, neutralize_value

FONT = "Times New Roman"
TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
FORM_NAME = "Biểu số 06/VPCP/KSTT"
TABLE_FIRST_ROW = 7  # 0-based row of the first header row on sheet 1
LAST_COL = 12  # 13 columns: A..M


class _Formats:
    """The workbook's cell formats, created once per workbook."""

    def __init__(self, book: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}

        def make(**extra):
            return book.add_format({**base, **extra})

        border = {"border": 1}
        self.text = make()
        self.bold = make(bold=True)
        self.italic = make(italic=True)
        self.title = make(bold=True, font_size=14, align="center")
        self.subtitle = make(bold=True, font_size=12, align="center")
        self.center_italic = make(italic=True, align="center")
        self.right_italic = make(italic=True, align="right")
        self.header = make(bold=True, align="center", text_wrap=True, bg_color="#F2F2F2", **border)
        self.col_number = make(italic=True, align="center", font_size=10, **border)
        self.cell_text = make(text_wrap=True, **border)
        self.cell_center = make(align="center", **border)
        self.cell_int = make(num_format=EXCEL_INT_FORMAT, **border)
        self.cell_pct = make(num_format=EXCEL_PCT_FORMAT, **border)
        self.cell_date = make(num_format=EXCEL_DATE_FORMAT, align="center", **border)
        self.cell_datetime = make(num_format=EXCEL_DATETIME_FORMAT, align="center", **border)
        self.total_text = make(bold=True, align="center", bg_color="#F2F2F2", **border)
        self.total_int = make(bold=True, num_format=EXCEL_INT_FORMAT, bg_color="#F2F2F2", **border)
        self.group = make(bold=True, bg_color="#DDEBF7", **border)
        self.note = make(italic=True, font_size=10, text_wrap=True, valign="top")


def _text(value) -> str:
    """Imported text as a safe cell string (formula-injection defence; blanks for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(neutralize_value(str(value)))


def _print_setup(sheet: Worksheet, repeat_rows: tuple[int, int] | None = None) -> None:
    sheet.set_paper(9)  # A4
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # fit to width, as many pages tall as needed
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.center_horizontally()
    sheet.set_footer("&C&\"Times New Roman\"Trang &P/&N")
    if repeat_rows:
        sheet.repeat_rows(*repeat_rows)


def _heading(sheet: Worksheet, fmt: _Formats, data: ReportData, last_col: int, title: str, *,
             form_name: str = "", unit_line: str = "") -> None:
    """Reporting body / form name, title, place, period and unit lines (rows 0-5)."""
    split = max(2, last_col // 3)
    sheet.merge_range(0, 0, 0, split, " ".join(data.organization), fmt.bold)
    sheet.merge_range(0, split + 1, 0, last_col, form_name, fmt.right_italic)
    sheet.merge_range(2, 0, 2, last_col, title, fmt.title)
    where = unit_in_prose(data.unit_name) + (f", {data.province_name}" if data.province_name and data.single_unit
                                              else "")
    sheet.merge_range(3, 0, 3, last_col, f"Tại {where}", fmt.subtitle)
    sheet.merge_range(4, 0, 4, last_col, data.period_sentence, fmt.center_italic)
    sheet.merge_range(5, 0, 5, last_col, unit_line, fmt.right_italic)


def _bieu06_headers(sheet: Worksheet, fmt: _Formats, top: int) -> int:
    """Three merged header rows + the (1)..(13) numbering row; returns the first data row."""
    sheet.merge_range(top, 0, top + 2, 0, "STT", fmt.header)
    sheet.merge_range(top, 1, top + 2, 1, "Lĩnh vực, công việc giải quyết theo cấp", fmt.header)
    groups = (("Số hồ sơ nhận giải quyết", 2, 5), ("Số hồ sơ đã giải quyết", 6, 9),
              ("Số hồ sơ đang giải quyết", 10, 12))
    for label, first, last in groups:
        sheet.merge_range(top, first, top, last, label, fmt.header)
        sheet.merge_range(top + 1, first, top + 2, first, "Tổng số", fmt.header)
        sheet.merge_range(top + 1, first + 1, top + 1, last, "Trong đó", fmt.header)
    for offset, (label, _keys) in enumerate(BIEU06_COLUMNS):
        col = 2 + offset
        if label != "Tổng số":
            sheet.write(top + 2, col, label, fmt.header)
    for col in range(LAST_COL + 1):
        sheet.write(top + 3, col, f"({col + 1})", fmt.col_number)
    return top + 4


def _bieu06_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Biểu 06")
    _heading(sheet, fmt, data, LAST_COL, TITLE, form_name=FORM_NAME, unit_line="Đơn vị tính: Số hồ sơ TTHC")
    row = _bieu06_headers(sheet, fmt, TABLE_FIRST_ROW)
    for number, record in enumerate(data.fields.to_dict("records"), start=1):
        sheet.write_number(row, 0, number, fmt.cell_center)
        sheet.write_string(row, 1, _text(record["label"]), fmt.cell_text)
        for offset, (_label, keys) in enumerate(BIEU06_COLUMNS):
            sheet.write_number(row, 2 + offset, bieu06_value(record, keys), fmt.cell_int)
        row += 1
    sheet.merge_range(row, 0, row, 1, "Tổng cộng", fmt.total_text)
    for offset, (_label, keys) in enumerate(BIEU06_COLUMNS):
        sheet.write_number(row, 2 + offset, bieu06_value(data.total, keys), fmt.total_int)
    notes = _bieu06_notes(data)
    for index, note in enumerate(notes, start=2):
        sheet.merge_range(row + index, 0, row + index, LAST_COL, note, fmt.note)
        sheet.set_row(row + index, 30)
    _signature_block(sheet, fmt, data, row + len(notes) + 3)
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 34)
    sheet.set_column(2, LAST_COL, 11)
    sheet.set_row(TABLE_FIRST_ROW + 1, 20)
    sheet.set_row(TABLE_FIRST_ROW + 2, 45)
    sheet.freeze_panes(TABLE_FIRST_ROW + 4, 2)
    _print_setup(sheet, (TABLE_FIRST_ROW, TABLE_FIRST_ROW + 3))


def _signature_block(sheet: Worksheet, fmt: _Formats, data: ReportData, row: int) -> None:
    """The form's signature block, as in the Word draft: người lập biểu (left), thủ trưởng đơn vị (right)."""
    left, right = (0, 4), (8, LAST_COL)
    sheet.merge_range(row, *right[:1], row, right[1], data.date_line, fmt.center_italic)
    for offset, (left_text, right_text, cell_format) in enumerate((
            ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", fmt.subtitle),
            ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", fmt.center_italic)), start=1):
        sheet.merge_range(row + offset, left[0], row + offset, left[1], left_text, cell_format)
        sheet.merge_range(row + offset, right[0], row + offset, right[1], right_text, cell_format)


def _bieu06_notes(data: ReportData) -> list[str]:
    settings = data.settings
    rule = ("Trước hạn/đúng hạn xét theo ngày (xong trước ngày hẹn trả: trước hạn; trong ngày hẹn trả: đúng hạn)."
            if settings.early_rule == "date" else "Trước hạn/đúng hạn/quá hạn xét theo thời điểm (giờ, phút).")
    notes = [f"Ghi chú: (3) = (4) + (5) + (6) = (7) + (11); (7) = (8) + (9) + (10); (11) = (12) + (13). {rule}"]
    returned = fmt_int(data.counts.get("returned_or_withdrawn", 0))
    if settings.returned_policy == "excluded":
        notes.append(f"Hồ sơ trả lại, công dân rút, dừng giải quyết ({returned} hồ sơ) không tính vào biểu. "
                     + metrics.EXCLUDED_WARNING)
    elif settings.returned_policy == "judged_766":
        notes.append(f"Hồ sơ trả lại, công dân rút, dừng giải quyết ({returned} hồ sơ) là hồ sơ đã giải quyết, "
                     "so với ngày hẹn trả như Cổng DVCQG (QĐ 766).")
    else:
        notes.append(f"Hồ sơ trả lại, công dân rút, dừng giải quyết ({returned} hồ sơ) được tính là đã giải quyết "
                     "đúng hạn, theo quy ước của phần mềm một cửa.")
    calendar = ("kỳ báo cáo 15 tháng trước – 14 (NĐ 09/2019/NĐ-CP)" if data.period.calendar == "report"
                else "tháng, quý dương lịch")
    notes.append(f"Kỳ: {calendar}; " + "; ".join(
        f"{name} = {', '.join(value) if isinstance(value, list) else value}"
        for name, value in metrics.settings_block(settings).items()) + ".")
    notes.append(f"Số liệu lập tự động từ dữ liệu phần mềm một cửa lúc {fmt_datetime(data.generated_at)}.")
    return notes


def _kpi_rows(data: ReportData) -> list[dict]:
    rows = []
    for key, metric in metrics.RATES.items():
        rows.append({
            "label": metric.label,
            "numerator": metric_count(data.counts, metric.numerator),
            "denominator": metric_count(data.counts, metric.denominator),
            "rate": data.kpis["rates"].get(key),
            "coverage": data.kpis.get("coverage", {}).get(key),
            "previous": data.previous["rates"].get(key),
            "last_year": data.last_year["rates"].get(key),
            "definition": metric.definition,
        })
    return rows


def _write_optional(sheet: Worksheet, row: int, col: int, value, cell_format) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        sheet.write_string(row, col, "–", cell_format)
    else:
        sheet.write_number(row, col, float(value), cell_format)


def _kpi_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Chỉ tiêu")
    compare = [("previous", f"Kỳ trước ({data.period.previous().label})"),
               ("last_year", f"Cùng kỳ năm trước ({data.period.same_period_last_year().label})")]
    if data.last_year_is_previous:  # a year report: the same column would show twice
        compare = [("previous", f"Kỳ trước, cùng kỳ năm trước ({data.period.previous().label})")]
    last_col = 5 + len(compare)
    _heading(sheet, fmt, data, last_col, "CÁC CHỈ TIÊU GIẢI QUYẾT TTHC, CHUYỂN ĐỔI SỐ")
    row = TABLE_FIRST_ROW
    headers = ("STT", "Chỉ tiêu", "Tử số (hồ sơ)", "Mẫu số (hồ sơ)", "Tỷ lệ kỳ này",
               *[label for _key, label in compare], "Cách tính")
    for col, label in enumerate(headers):
        sheet.write(row, col, label, fmt.header)
    for number, item in enumerate(_kpi_rows(data), start=1):
        row += 1
        sheet.write_number(row, 0, number, fmt.cell_center)
        sheet.write_string(row, 1, item["label"], fmt.cell_text)
        sheet.write_number(row, 2, item["numerator"], fmt.cell_int)
        sheet.write_number(row, 3, item["denominator"], fmt.cell_int)
        for col, key in enumerate(["rate", *[key for key, _label in compare]], start=4):
            _write_optional(sheet, row, col, item[key], fmt.cell_pct)
        if item["rate"] is None and item["coverage"] and item["coverage"]["denominator"]:
            sheet.write_string(row, 4, NO_DATA, fmt.cell_text)  # no data is not 0%
        note = fmt_coverage(item["coverage"])
        sheet.write_string(row, last_col, item["definition"] + (f" ({note.capitalize()}.)" if note else ""), fmt.cell_text)
    row = _levels_table(sheet, fmt, data, row + 2)
    row = _procedure_levels_table(sheet, fmt, data, row + 2)
    _channels_table(sheet, fmt, data, row + 2)
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 42)
    sheet.set_column(2, last_col - 1, 15)
    sheet.set_column(last_col, last_col, 60)
    _print_setup(sheet)


def _levels_table(sheet: Worksheet, fmt: _Formats, data: ReportData, row: int) -> int:
    levels = data.kpis["levels"]
    counts = [(metrics.LEVEL_LABELS.get(level, level), int(count)) for level, count in levels.items()]
    return _share_table(sheet, fmt, row, "Hồ sơ theo mức độ dịch vụ công trực tuyến", "Mức độ", counts,
                        total=sum(count for _, count in counts))


def _procedure_levels_table(sheet: Worksheet, fmt: _Formats, data: ReportData, row: int) -> int:
    """TTHC offered at each DVC level and how many had dossiers in the period (numbers stay numbers)."""
    frame = data.procedure_levels
    source = "danh mục TTHC" if (frame["source"] == "catalogue").any() else "thủ tục đã có hồ sơ"
    sheet.merge_range(row, 0, row, 3, f"Thủ tục hành chính theo mức độ dịch vụ công ({source})", fmt.bold)
    row += 1
    for col, label in enumerate(("STT", "Mức độ", "Số TTHC", "Số TTHC có hồ sơ trong kỳ")):
        sheet.write(row, col, label, fmt.header)
    for number, item in enumerate(frame.itertuples(), start=1):
        row += 1
        sheet.write_number(row, 0, number, fmt.cell_center)
        sheet.write_string(row, 1, item.level_label, fmt.cell_text)
        sheet.write_number(row, 2, int(item.offered), fmt.cell_int)
        sheet.write_number(row, 3, int(item.with_dossiers), fmt.cell_int)
    row += 1
    sheet.merge_range(row, 0, row, 1, "Tổng cộng", fmt.total_text)
    sheet.write_number(row, 2, int(frame["offered"].sum()), fmt.total_int)
    sheet.write_number(row, 3, int(frame["with_dossiers"].sum()), fmt.total_int)
    return row


def _channels_table(sheet: Worksheet, fmt: _Formats, data: ReportData, row: int) -> int:
    received = data.kpis["received"]
    counts = [(metrics.CHANNEL_LABELS.get(channel, channel), int(received[channel]))
              for channel in ("online", "direct", "postal")]
    return _share_table(sheet, fmt, row, "Hồ sơ mới tiếp nhận theo kênh", "Kênh", counts,
                        total=int(received["new"]))


def _share_table(sheet: Worksheet, fmt: _Formats, row: int, title: str, label_header: str,
                 counts: list[tuple[str, int]], *, total: int) -> int:
    """Title, header, one numbered row per (label, count) with its share of ``total``, and a total row."""
    sheet.merge_range(row, 0, row, 3, title, fmt.bold)
    row += 1
    for col, label in enumerate(("STT", label_header, "Số hồ sơ", "Tỷ trọng")):
        sheet.write(row, col, label, fmt.header)
    for number, (label, count) in enumerate(counts, start=1):
        row += 1
        sheet.write_number(row, 0, number, fmt.cell_center)
        sheet.write_string(row, 1, label, fmt.cell_text)
        sheet.write_number(row, 2, count, fmt.cell_int)
        _write_optional(sheet, row, 3, count / total if total else None, fmt.cell_pct)
    row += 1
    sheet.merge_range(row, 0, row, 1, "Tổng cộng", fmt.total_text)
    sheet.write_number(row, 2, total, fmt.total_int)
    return row


ANNEX_COLUMNS = (
    ("STT", 5), ("Mã hồ sơ", 22), ("Thủ tục hành chính", 40), ("Lĩnh vực", 20), ("Đơn vị tiếp nhận", 20),
    ("Ngày tiếp nhận", 16), ("Hạn trả", 16), ("Ngày kết thúc", 16), ("Tình trạng", 22),
    ("Số ngày quá hạn (ngày làm việc)", 14),
    # Who holds the dossier and whether the apology/new date (NĐ 61/2018 Art 19(9)) was given.
    ("Phòng ban xử lý", 22), ("Cán bộ xử lý", 20), ("Đã xin lỗi, hẹn lại", 12),
)


def _timestamp(value) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _annex_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Hồ sơ quá hạn")
    last_col = len(ANNEX_COLUMNS) - 1
    _heading(sheet, fmt, data, last_col, "DANH SÁCH HỒ SƠ GIẢI QUYẾT QUÁ HẠN")
    row = TABLE_FIRST_ROW
    for col, (label, width) in enumerate(ANNEX_COLUMNS):
        sheet.write(row, col, label, fmt.header)
        sheet.set_column(col, col, width)
    sheet.set_row(row, 32)
    if data.annex.empty:
        sheet.merge_range(row + 1, 0, row + 1, last_col, "Không có hồ sơ quá hạn trong kỳ báo cáo.", fmt.cell_text)
        _print_setup(sheet, (row, row))
        return
    for unit, group in data.annex.groupby("resolving_unit", sort=False, dropna=False):
        row += 1
        unit_label = "Chưa xác định đơn vị giải quyết" if pd.isna(unit) else _text(unit)
        sheet.merge_range(row, 0, row, last_col, f"Đơn vị giải quyết: {unit_label} ({len(group)} hồ sơ)",
                          fmt.group)
        for number, record in enumerate(group.to_dict("records"), start=1):
            row += 1
            _annex_row(sheet, fmt, row, number, record)
    if data.annex_truncated:
        sheet.merge_range(row + 2, 0, row + 2, last_col, "Danh sách bị cắt bớt: chỉ hiển thị tối đa "
                          "5.000 hồ sơ mỗi loại; xem đầy đủ trên trang Hồ sơ.", fmt.note)
    sheet.freeze_panes(TABLE_FIRST_ROW + 1, 0)
    _print_setup(sheet, (TABLE_FIRST_ROW, TABLE_FIRST_ROW))


def _annex_row(sheet: Worksheet, fmt: _Formats, row: int, number: int, record: dict) -> None:
    sheet.write_number(row, 0, number, fmt.cell_center)
    for col, key in ((1, "dossier_code"), (2, "procedure_name"), (3, "field_name"), (4, "receiving_unit")):
        sheet.write_string(row, col, _text(record.get(key)), fmt.cell_text)
    for col, key in ((5, "received_at"), (6, "due_at"), (7, "finished_at")):
        stamp = _timestamp(record.get(key))
        if stamp is None:
            sheet.write_blank(row, col, None, fmt.cell_datetime)
        else:
            sheet.write_datetime(row, col, stamp, fmt.cell_datetime)
    sheet.write_string(row, 8, str(record.get("bucket_label", "")), fmt.cell_text)
    days = record.get("days_late")
    _write_optional(sheet, row, 9, None if days is None or pd.isna(days) else int(days), fmt.cell_int)
    for col, key in ((10, "handling_department"), (11, "handling_officer")):
        sheet.write_string(row, col, _text(record.get(key)), fmt.cell_text)
    sheet.write_string(row, 12, fmt_reappointed(record.get("reappointed"), record.get("reappointment_count")),
                       fmt.cell_center)



def workbook_bytes(data: ReportData) -> bytes:
    """The pack's workbook as bytes (for ``st.download_button`` and zips)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "default_date_format": EXCEL_DATE_FORMAT,
                                          **XLSXWRITER_OPTIONS})
    book.set_properties({"title": f"{TITLE} – {data.caption}", "author": "Một Cửa KPI",
                         "comments": "Lập tự động từ dữ liệu phần mềm một cửa"})
    fmt = _Formats(book)
    _bieu06_sheet(book, fmt, data)
    _kpi_sheet(book, fmt, data)
    _annex_sheet(book, fmt, data)
    book.close()
    return buffer.getvalue()


LEAGUE_RATES = ("online_rate", "on_time_rate_resolved", "on_time_rate_766", "digitized_intake_rate",
                "electronic_result_rate", "online_payment_rate", "non_territorial_rate")


def league_workbook_bytes(league: pd.DataFrame, caption: str, period_sentence: str) -> bytes:
    """Comparison workbook (bảng xếp hạng) of every unit for the period: counts, rates and ranks."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSXWRITER_OPTIONS})
    fmt = _Formats(book)
    sheet = book.add_worksheet("So sánh đơn vị")
    count_keys = ("received_total", "online", "resolved_total", "late", "pending_total", "overdue")
    columns = [("STT", None), ("Đơn vị", None)] + [(metrics.COUNTS[k], k) for k in count_keys]
    for key in LEAGUE_RATES:
        columns += [(metrics.RATES[key].label, key), ("Hạng", f"rank_{key}")]
    last_col = len(columns) - 1
    sheet.merge_range(0, 0, 0, last_col, "BẢNG SO SÁNH KẾT QUẢ GIẢI QUYẾT TTHC GIỮA CÁC ĐƠN VỊ", fmt.title)
    sheet.merge_range(1, 0, 1, last_col, caption, fmt.subtitle)
    sheet.merge_range(2, 0, 2, last_col, period_sentence, fmt.center_italic)
    header_row = 4
    for col, (label, _key) in enumerate(columns):
        sheet.write(header_row, col, label, fmt.header)
    sheet.set_row(header_row, 60)
    ordered = league.sort_values("received_total", ascending=False, kind="stable")
    for number, record in enumerate(ordered.to_dict("records"), start=1):
        row = header_row + number
        sheet.write_number(row, 0, number, fmt.cell_center)
        sheet.write_string(row, 1, _text(record["label"]), fmt.cell_text)
        for col, (_label, key) in enumerate(columns[2:], start=2):
            value = record.get(key)
            is_rate = key in metrics.RATES
            _write_optional(sheet, row, col, value, fmt.cell_pct if is_rate else fmt.cell_int)
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, last_col, 12)
    sheet.freeze_panes(header_row + 1, 2)
    _print_setup(sheet, (header_row, header_row))
    book.close()
    return buffer.getvalue()
