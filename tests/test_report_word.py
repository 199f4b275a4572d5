"""The Word draft: sentences, number formatting, official style, embedded charts, PDF rendering."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from types import SimpleNamespace

import pandas as pd
import plotly.graph_objects as go
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from report_fixtures import build_report_db

from motcua import metrics
from motcua.db import Database
from motcua.filters import Scope
from motcua.fmt import fmt_count, fmt_int, fmt_pct
from motcua.periods import parse_period
from motcua.report import make_pack, word
from motcua.report.images import find_chromium, render_pngs

PERIOD = parse_period("2026Q2", "report")
SETTINGS = metrics.Settings(calendar="report")
UNIT = Scope(unit_codes=("10001",))


def _kpis(new=1277, online=1127, direct=150, postal=0, carried=3, resolved=(1269, 5, 0), pending=(6, 0)):
    early, on_time, late = resolved
    within, overdue = pending
    return {
        "received": {"total": new + carried, "carried_over": carried, "new": new, "online": online,
                     "direct": direct, "postal": postal},
        "resolved": {"total": early + on_time + late, "early": early, "on_time": on_time, "late": late},
        "pending": {"total": within + overdue, "within_deadline": within, "overdue": overdue},
        "returned_or_withdrawn": 0,
        "rates": {"online_rate": online / new if new else None,
                  "on_time_rate_resolved": (early + on_time) / (early + on_time + late) if early + on_time else None,
                  "on_time_rate_766": 0.995, "digitized_intake_rate": 0.9, "electronic_result_rate": None,
                  "reuse_rate": 0.25, "online_payment_rate": 1.0, "online_rate_of_online_procedures": 0.9},
        "levels": {"toan_trinh": 1000, "mot_phan": 277, "thong_tin": 0, "unknown": 0},
    }


def test_received_sentence_uses_official_number_formatting():
    assert word.received_sentence(_kpis()) == (
        "Tổng số hồ sơ tiếp nhận trong kỳ báo cáo 1.277 hồ sơ; trong đó tiếp nhận trực tuyến 1.127 hồ sơ, "
        "đạt 88,25%; trực tiếp 150 hồ sơ. Số hồ sơ từ kỳ trước chuyển sang 03 hồ sơ; tổng số hồ sơ phải giải "
        "quyết trong kỳ 1.280 hồ sơ.")
    assert "qua dịch vụ bưu chính công ích 07 hồ sơ" in word.received_sentence(_kpis(direct=143, postal=7))


def test_resolved_and_pending_sentences():
    kpis = _kpis()
    assert word.resolved_sentence(kpis) == (
        "Số hồ sơ đã giải quyết 1.274 hồ sơ (trước hạn 1.269 hồ sơ; đúng hạn 05 hồ sơ), tỷ lệ giải quyết đúng "
        "hạn đạt 100,00%. Không có hồ sơ giải quyết quá hạn.")
    late = _kpis(resolved=(1200, 60, 14), pending=(4, 2))
    assert "(trước hạn 1.200 hồ sơ; đúng hạn 60 hồ sơ; quá hạn 14 hồ sơ), tỷ lệ giải quyết đúng hạn đạt 98,90%" \
        in word.resolved_sentence(late)
    assert word.pending_sentence(late, PERIOD.end) == (
        "Số hồ sơ đang giải quyết đến ngày 14/06/2026 là 06 hồ sơ (trong hạn 04 hồ sơ; quá hạn 02 hồ sơ).")
    assert "không còn hồ sơ đang giải quyết" in word.pending_sentence(_kpis(pending=(0, 0)), PERIOD.end)


def test_digital_and_comparison_sentences():
    counts = {"digitized": 1150, "digitized_scope": 1277, "electronic_result": 0, "electronic_result_scope": 0,
              "reused": 320, "new": 1277, "paid_online": 8, "fee_bearing": 8}
    text = word.digital_sentence(_kpis(), counts)
    assert text.startswith("Số hóa thành phần hồ sơ khi tiếp nhận 1.150/1.277 hồ sơ, đạt 90,00%;")
    assert "cấp kết quả giải quyết điện tử: không có hồ sơ thuộc phạm vi tính" in text
    assert "thanh toán phí, lệ phí trực tuyến 08/08 hồ sơ có phí, lệ phí, đạt 100,00%." in text
    before = _kpis(new=1000, online=800, direct=200, resolved=(990, 5, 5))
    text = word.comparison_sentence(_kpis(), before, "Kỳ trước", "Quý 1/2026")
    assert text.startswith("So với kỳ trước (Quý 1/2026), số hồ sơ tiếp nhận tăng 277 hồ sơ (tương ứng 27,70%);")
    assert "tỷ lệ hồ sơ trực tuyến tăng 8,25 điểm phần trăm (từ 80,00% lên 88,25%)" in text
    empty = _kpis(new=0, online=0, direct=0, carried=0, resolved=(0, 0, 0), pending=(0, 0))
    assert word.comparison_sentence(_kpis(), empty, "Cùng kỳ năm trước", "Quý 2/2025") == (
        "Cùng kỳ năm trước (Quý 2/2025) chưa có dữ liệu để so sánh.")


def test_annex_sentence_counts_by_resolving_unit():
    annex = pd.DataFrame({"bucket": ["late", "late", "late"], "resolving_unit": ["Xã A", "Xã B", "Xã A"]})
    assert word.annex_sentence(SimpleNamespace(annex=annex)) == (
        "Trong kỳ có 03 hồ sơ giải quyết quá hạn; theo đơn vị giải quyết: Xã A: 02 hồ sơ; Xã B: 01 hồ sơ "
        "(danh sách chi tiết tại trang tính \"Hồ sơ quá hạn\" của tệp Excel kèm theo).")
    assert "không có hồ sơ giải quyết quá hạn" in word.annex_sentence(SimpleNamespace(annex=annex.iloc[:0]))


def test_unit_names_in_prose_and_dateline():
    assert word.unit_in_prose("Xã Tứ Kỳ") == "xã Tứ Kỳ"
    assert word.unit_in_prose("Tất cả đơn vị") == "Tất cả đơn vị"
    assert word.unit_in_prose("Phường Đức Thuận") == "phường Đức Thuận"
    assert word.place_name("Xã Tứ Kỳ") == "Tứ Kỳ"
    assert word.place_name("Phường Đức Thuận") == "Đức Thuận"
    assert word.place_name("Tỉnh Hà Tĩnh") == "Hà Tĩnh"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return Database(build_report_db(tmp_path_factory.mktemp("report-word") / "motcua.duckdb"))


@pytest.fixture(scope="module")
def pack_without_charts(database):
    return make_pack(database, UNIT, PERIOD, SETTINGS, with_charts=False)


def _paragraph(document, prefix: str):
    return next(p for p in document.paragraphs if p.text.startswith(prefix))


def test_document_numbers_match_the_kpi_engine(pack_without_charts, database):
    document = Document(io.BytesIO(pack_without_charts.docx))
    kpis = metrics.compute_kpis(database, UNIT, PERIOD, SETTINGS)
    received = _paragraph(document, "Tổng số hồ sơ tiếp nhận").text
    assert f"trong kỳ báo cáo {fmt_count(kpis['received']['new'])} hồ sơ" in received
    assert f"trực tuyến {fmt_count(kpis['received']['online'])} hồ sơ, đạt " \
           f"{fmt_pct(kpis['rates']['online_rate'])}" in received
    assert re.search(r"đạt \d{1,3},\d{2}%", received)  # decimal comma, two decimals
    resolved = _paragraph(document, "Số hồ sơ đã giải quyết").text
    assert f"giải quyết {fmt_count(kpis['resolved']['total'])} hồ sơ" in resolved
    assert f"trước hạn {fmt_count(kpis['resolved']['early'])} hồ sơ" in resolved
    assert f"quá hạn {fmt_count(kpis['resolved']['late'])} hồ sơ" in resolved
    assert _paragraph(document, "So với kỳ trước (Quý 1/2026)")
    assert _paragraph(document, "So với cùng kỳ năm trước (Quý 2/2025)")
    # The Biểu 06 annex table: 13 columns, total row equal to the KPI totals.
    table = next(t for t in document.tables if len(t.columns) == 13)
    total = [c.text for c in table.rows[-1].cells]
    assert total[1] == "Tổng cộng"
    assert total[2] == fmt_int(kpis["received"]["total"]) and total[12] == fmt_int(kpis["pending"]["overdue"])
    assert [c.text for c in table.rows[3].cells] == [f"({n})" for n in range(1, 14)]
    assert [c.text for c in table.rows[0].cells][1:3] == ["Lĩnh vực, công việc giải quyết theo cấp",
                                                         "Số hồ sơ nhận giải quyết"]
    assert [c.text for c in table.rows[2].cells][2:7] == ["Tổng số", "Trực tuyến", "Trực tiếp, dịch vụ bưu chính",
                                                         "Từ kỳ trước", "Tổng số"]


def test_document_has_the_official_style(pack_without_charts):
    document = Document(io.BytesIO(pack_without_charts.docx))
    heading = document.tables[0]
    assert heading.cell(0, 0).text == "ỦY BAN NHÂN DÂN\nXÃ TỨ KỲ"
    assert heading.cell(0, 1).text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    assert heading.cell(1, 1).text.startswith("Tứ Kỳ, ngày ")
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and 13 <= normal.font.size.pt <= 14
    assert normal.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert normal.paragraph_format.first_line_indent.cm == pytest.approx(1.27, abs=0.01)
    assert _paragraph(document, "BÁO CÁO").alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert _paragraph(document, "I. TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT").runs[0].bold
    assert document.sections[0].orientation == WD_ORIENT.PORTRAIT
    assert document.sections[-1].orientation == WD_ORIENT.LANDSCAPE  # the 13-column annex
    assert "Báo cáo được lập không kèm biểu đồ" in _paragraph(document, "Báo cáo được lập").text


def test_province_scope_is_reported_by_the_province(database):
    scope = Scope(unit_codes=("10001", "10002"))
    pack = make_pack(database, scope, PERIOD, SETTINGS, with_charts=False)
    document = Document(io.BytesIO(pack.docx))
    assert document.tables[0].cell(0, 0).text == "ỦY BAN NHÂN DÂN\nTHÀNH PHỐ HẢI PHÒNG"
    assert document.tables[0].cell(1, 1).text.startswith("Hải Phòng, ngày ")
    kpis = metrics.compute_kpis(database, scope, PERIOD, SETTINGS)
    assert f"trong kỳ báo cáo {fmt_count(kpis['received']['new'])} hồ sơ" in _paragraph(
        document, "Tổng số hồ sơ tiếp nhận").text


def _media(docx: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return [name for name in archive.namelist() if name.startswith("word/media/")]


@pytest.mark.skipif(find_chromium() is None, reason="Chromium không có trên máy: không vẽ được biểu đồ")
def test_charts_are_embedded_as_png(database):
    pack = make_pack(database, UNIT, PERIOD, SETTINGS)
    assert pack.charts == 4 and pack.chart_note is None
    media = _media(pack.docx)
    assert len(media) == 4 and all(name.endswith(".png") for name in media)
    document = Document(io.BytesIO(pack.docx))
    assert len(document.inline_shapes) == 4
    captions = [p.text for p in document.paragraphs if p.text.startswith("Biểu đồ ")]
    assert len(captions) == 4 and all("Xã Tứ Kỳ" in c for c in captions)


def test_missing_chromium_still_produces_the_document_with_a_note(database, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    images, note = render_pngs([go.Figure()])
    assert images == [] and "Chromium" in note
    pack = make_pack(database, UNIT, PERIOD, SETTINGS)
    assert pack.charts == 0 and "không tìm thấy trình duyệt Chromium" in pack.chart_note
    assert _media(pack.docx) == []
    document = Document(io.BytesIO(pack.docx))
    assert any("Không tạo được biểu đồ" in p.text for p in document.paragraphs)
    assert _paragraph(document, "Tổng số hồ sơ tiếp nhận")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) chưa cài: bỏ qua kiểm tra PDF")
def test_docx_renders_to_pdf_with_libreoffice(database, tmp_path):
    pack = make_pack(database, UNIT, PERIOD, SETTINGS, with_charts=find_chromium() is not None)
    source = tmp_path / f"{pack.stem}.docx"
    source.write_bytes(pack.docx)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, timeout=180, capture_output=True)
    pdf = (tmp_path / f"{pack.stem}.pdf").read_bytes()
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert pdf.startswith(b"%PDF") and len(pages) >= 3  # portrait body + landscape annex
