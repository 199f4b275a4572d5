"""Report fixes of issue 13: the all-units report names the province, the Excel Biểu 06 has the signature
block, a year report shows "kỳ trước" once, dates are Vietnam time."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
from docx import Document
from kpi_fixtures import make_db

from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.report import excel, word
from motcua.report.data import ReportData, collect

# Both fixture communes with dossiers are in Thành phố Hải Phòng (code 01).
ROWS = [{"receiving_unit_code": code, "received_at": day, "due_at": "2026-12-30", "finished_at": None}
        for code in ("10001", "10002") for day in ("2025-03-02", "2026-03-02")]


def _all_texts(sheet) -> list[str]:
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


def test_all_units_report_names_the_province_and_fills_the_place_line():
    con = make_db(ROWS)
    data = collect(con, Scope(), parse_period("2026Q1"), metrics.Settings())
    assert data.unit_name == "Thành phố Hải Phòng" and data.province_name == "Thành phố Hải Phòng"
    assert data.organization == ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ HẢI PHÒNG")
    assert data.date_line.startswith("Hải Phòng, ngày ")
    document = Document(io.BytesIO(word.document_bytes(data)))
    heading = "\n".join(cell.text for cell in document.tables[0]._cells)
    assert "Hải Phòng, ngày" in heading and "......" not in heading and "Tất cả đơn vị" not in heading
    sheet = openpyxl.load_workbook(io.BytesIO(excel.workbook_bytes(data)))["Biểu 06"]
    assert "Tại Thành phố Hải Phòng" in _all_texts(sheet)


def test_excel_bieu06_has_the_signature_block():
    con = make_db(ROWS)
    data = collect(con, Scope(unit_codes=("10001",)), parse_period("2026Q1"), metrics.Settings())
    texts = _all_texts(openpyxl.load_workbook(io.BytesIO(excel.workbook_bytes(data)))["Biểu 06"])
    for expected in ("NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"):
        assert expected in texts
    assert any(t.startswith("Tứ Kỳ, ngày ") for t in texts)


def test_year_report_shows_the_previous_year_once():
    con = make_db(ROWS)
    data = collect(con, Scope(unit_codes=("10001",)), parse_period("2026"), metrics.Settings())
    assert data.last_year_is_previous
    sheet = openpyxl.load_workbook(io.BytesIO(excel.workbook_bytes(data)))["Chỉ tiêu"]
    headers = [t for t in _all_texts(sheet) if "2025" in t and ("Kỳ trước" in t or "Cùng kỳ" in t)]
    assert headers == ["Kỳ trước, cùng kỳ năm trước (Năm 2025)"]
    document = Document(io.BytesIO(word.document_bytes(data)))
    comparison = next(t for t in document.tables if t.rows[0].cells[0].text == "Chỉ tiêu")
    assert len(comparison.columns) == 3
    sentences = [p.text for p in document.paragraphs if p.text.startswith("So với ") or "(Năm 2025)" in p.text]
    assert len(sentences) == 1 and "cùng kỳ năm trước" in sentences[0]
    quarter = collect(con, Scope(unit_codes=("10001",)), parse_period("2026Q1"), metrics.Settings())
    assert not quarter.last_year_is_previous  # a quarter keeps both columns


def test_report_time_is_vietnam_time():
    con = make_db(ROWS)
    data: ReportData = collect(con, Scope(unit_codes=("10001",)), parse_period("2026Q1"), metrics.Settings())
    vietnam = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    assert abs(data.generated_at - vietnam) < timedelta(minutes=2)  # the server's UTC would be 7 h off
