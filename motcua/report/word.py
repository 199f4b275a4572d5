"""Draft Word report (python-docx) in the style of commune reports (see /work/shared/seeds).

National heading block, Times New Roman 14 pt, justified paragraphs with a first-line indent, Roman
numbered headings, sentences generated from the numbers ("Tổng số hồ sơ tiếp nhận trong kỳ báo cáo
1.277 hồ sơ; trong đó tiếp nhận trực tuyến 1.127 hồ sơ, đạt 88,25% ..."), comparisons, charts and
the Biểu 06 table in a landscape annex. Every number is formatted by ``motcua.fmt``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from motcua import metrics
from motcua.fmt import NO_DATA, fmt_count, fmt_coverage, fmt_date, fmt_int, fmt_num, fmt_pct
from motcua.report.data import (  # place_name: re-exported, the dateline moved to ReportData.date_line
    BIEU06_COLUMNS,
    ReportData,
    bieu06_value,
    metric_count,
    place_name,  # noqa: F401
    unit_in_prose,
)

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 10
INDENT = Cm(1.27)
IMAGE_WIDTH = Cm(16)
# Control characters are not allowed in XML: python-docx refuses the whole document when a unit or
# procedure name from an import carries one. Word shows text runs literally, so nothing else is escaped.
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text) -> str:
    """Text from data, safe for a Word run (control characters dropped)."""
    return _XML_INVALID_RE.sub("", str(text))


# --- sentences (pure functions of the numbers; tested directly) ---------------------------------

def _part(count: int, text: str) -> str:
    return f"{text} {fmt_count(count)} hồ sơ"


def received_sentence(kpis: dict) -> str:
    received = kpis["received"]
    text = (f"Tổng số hồ sơ tiếp nhận trong kỳ báo cáo {fmt_count(received['new'])} hồ sơ; trong đó tiếp nhận "
            f"trực tuyến {fmt_count(received['online'])} hồ sơ, đạt {fmt_pct(kpis['rates']['online_rate'])}; "
            f"trực tiếp {fmt_count(received['direct'])} hồ sơ")
    if int(received["postal"]):
        text += f"; qua dịch vụ bưu chính công ích {fmt_count(received['postal'])} hồ sơ"
    text += (f". Số hồ sơ từ kỳ trước chuyển sang {fmt_count(received['carried_over'])} hồ sơ; tổng số hồ sơ "
             f"phải giải quyết trong kỳ {fmt_count(received['total'])} hồ sơ.")
    return text


def resolved_sentence(kpis: dict) -> str:
    resolved, rates = kpis["resolved"], kpis["rates"]
    parts = [_part(resolved[key], label) for key, label in
             (("early", "trước hạn"), ("on_time", "đúng hạn"), ("late", "quá hạn")) if int(resolved[key])]
    text = f"Số hồ sơ đã giải quyết {fmt_count(resolved['total'])} hồ sơ"
    if parts:
        text += f" ({'; '.join(parts)})"
    if int(resolved["total"]):
        text += f", tỷ lệ giải quyết đúng hạn đạt {fmt_pct(rates['on_time_rate_resolved'])}"
    text += "."
    if int(resolved["total"]) and not int(resolved["late"]):
        text += " Không có hồ sơ giải quyết quá hạn."
    return text


def pending_sentence(kpis: dict, period_end) -> str:
    pending = kpis["pending"]
    if not int(pending["total"]):
        return f"Đến ngày {fmt_date(period_end)}, không còn hồ sơ đang giải quyết."
    parts = [_part(pending[key], label) for key, label in
             (("within_deadline", "trong hạn"), ("overdue", "quá hạn")) if int(pending[key])]
    waiting = int(pending.get("waiting_supplement", 0))
    extra = (f" Trong số hồ sơ trong hạn có {fmt_count(waiting)} hồ sơ đang chờ công dân bổ sung (dừng tính thời "
             "hạn giải quyết)." if waiting else "")
    return (f"Số hồ sơ đang giải quyết đến ngày {fmt_date(period_end)} là {fmt_count(pending['total'])} hồ sơ "
            f"({'; '.join(parts)}).{extra}")


def on_time_766_sentence(kpis: dict) -> str:
    value = kpis["rates"].get("on_time_rate_766")
    if value is None:
        return ""
    return ("Tỷ lệ hồ sơ giải quyết đúng hạn theo cách tính của Bộ chỉ số phục vụ người dân, doanh nghiệp "
            f"(Quyết định số 766/QĐ-TTg, gồm cả hồ sơ đang giải quyết trong hạn) đạt {fmt_pct(value)}.")


def non_territorial_sentence(kpis: dict) -> str:
    """NĐ 118/2025: dossiers received regardless of the applicant's commune, as an inspection words it.

    Empty when no new dossier says where its applicant lives (unknown is not "chưa phát sinh")."""
    received = kpis["received"]
    count = received.get("non_territorial")
    if count is None:
        return ""
    if int(count) == 0:
        return "Trong kỳ chưa phát sinh hồ sơ tiếp nhận không phụ thuộc địa giới hành chính."
    known = int(received["non_territorial_known"])
    coverage = "" if known == int(received["new"]) else " có thông tin nơi cư trú của người nộp"
    return (f"Trong kỳ tiếp nhận {fmt_count(count)} hồ sơ không phụ thuộc địa giới hành chính (người nộp cư trú "
            f"ngoài địa bàn), chiếm {fmt_pct(kpis['rates']['non_territorial_rate'])} số hồ sơ mới{coverage}.")


def reappointment_sentence(data: ReportData) -> str:
    """Overdue dossiers with and without the apology / new appointment (NĐ 61/2018 Art 19(9), once only)."""
    annex = data.annex
    parts = []
    if not annex.empty and "reappointed" in annex.columns:
        late = annex[annex["bucket"].isin(["late", "overdue"])]
        without = int((~late["reappointed"].fillna(False).astype(bool)).sum())
        if without:
            parts.append(f"{fmt_count(without)} hồ sơ quá hạn chưa có văn bản xin lỗi, hẹn lại ngày trả kết quả")
    twice = int(data.kpis.get("reappointed_more_than_once") or 0)
    if twice:
        parts.append(f"{fmt_count(twice)} hồ sơ hẹn lại ngày trả quá một lần (không đúng quy định)")
    return ("Trong kỳ có " + "; ".join(parts) + ".") if parts else ""


def returned_sentence(kpis: dict) -> str:
    count = int(kpis.get("returned_or_withdrawn", 0))
    if not count:
        return ""
    return f"Trong kỳ có {fmt_count(count)} hồ sơ bị trả lại, công dân xin rút hoặc dừng giải quyết."


# (rate key, subject, unit of the denominator)
DIGITAL_PHRASES = (
    ("digitized_intake_rate", "Số hóa thành phần hồ sơ khi tiếp nhận", "hồ sơ"),
    ("electronic_result_rate", "cấp kết quả giải quyết điện tử", "hồ sơ"),
    ("reuse_rate", "tái sử dụng dữ liệu, kết quả đã số hóa", "hồ sơ"),
    ("online_payment_rate", "thanh toán phí, lệ phí trực tuyến", "hồ sơ có phí, lệ phí"),
)


def digital_sentence(kpis: dict, counts: dict) -> str:
    """'Số hóa thành phần hồ sơ khi tiếp nhận 1.100/1.277 hồ sơ, đạt 86,14%; ...'."""
    clauses = []
    for key, subject, noun in DIGITAL_PHRASES:
        metric = metrics.RATES[key]
        numerator, denominator = metric_count(counts, metric.numerator), metric_count(counts, metric.denominator)
        coverage = kpis.get("coverage", {}).get(key)
        if denominator:
            note = fmt_coverage(coverage)
            clauses.append(f"{subject} {fmt_count(numerator)}/{fmt_count(denominator)} {noun}, "
                           f"đạt {fmt_pct(kpis['rates'][key])}" + (f" ({note})" if note else ""))
        elif coverage and coverage.get("denominator"):
            # No data is not 0%: never "00/03 hồ sơ, đạt 0,00%" when the export lacks the column.
            clauses.append(f"{subject}: không có dữ liệu (tệp xuất không có thông tin này cho "
                           f"{fmt_count(coverage['denominator'])} hồ sơ)")
        else:
            clauses.append(f"{subject}: không có hồ sơ thuộc phạm vi tính")
    text = "; ".join(clauses) + "."
    return text[0].upper() + text[1:]


def levels_sentence(kpis: dict) -> str:
    levels = kpis["levels"]
    parts = [f"{metrics.LEVEL_LABELS.get(level, level).lower()} {fmt_count(count)} hồ sơ"
             for level, count in levels.items() if int(count)]
    if not parts:
        return ""
    return "Phân theo mức độ dịch vụ công trực tuyến của thủ tục: " + "; ".join(parts) + "."


COMPARED_COUNTS = (("new", "received", "số hồ sơ tiếp nhận"), ("total", "resolved", "số hồ sơ đã giải quyết"))
COMPARED_RATES = ("online_rate", "on_time_rate_resolved", "digitized_intake_rate", "online_payment_rate")


def _count_change(current: int, before: int, noun: str) -> str:
    diff = current - before
    if diff == 0:
        return f"{noun} không thay đổi"
    word = "tăng" if diff > 0 else "giảm"
    share = f" (tương ứng {fmt_pct(abs(diff) / before)})" if before else ""
    return f"{noun} {word} {fmt_count(abs(diff))} hồ sơ{share}"


def _rate_change(current, before, noun: str) -> str | None:
    if current is None or before is None:
        return None
    diff = float(current) - float(before)
    if abs(diff) < 0.00005:
        return f"{noun} không thay đổi ({fmt_pct(current)})"
    word, joiner = ("tăng", "lên") if diff > 0 else ("giảm", "xuống")
    return (f"{noun} {word} {fmt_num(abs(diff) * 100)} điểm phần trăm "
            f"(từ {fmt_pct(before)} {joiner} {fmt_pct(current)})")


def comparison_sentence(kpis: dict, other: dict, what: str, other_label: str) -> str:
    """'So với kỳ trước (Quý 2/2026), số hồ sơ tiếp nhận tăng 120 hồ sơ (10,50%); tỷ lệ ...'."""
    if not int(other["received"]["total"]) and not int(other["resolved"]["total"]):
        return f"{what} ({other_label}) chưa có dữ liệu để so sánh."
    clauses = [_count_change(int(kpis[group][key]), int(other[group][key]), noun)
               for key, group, noun in COMPARED_COUNTS]
    for key in COMPARED_RATES:
        clause = _rate_change(kpis["rates"].get(key), other["rates"].get(key), metrics.RATES[key].label.lower())
        if clause:
            clauses.append(clause)
    return f"So với {what.lower()} ({other_label}), " + "; ".join(clauses) + "."


def annex_sentence(data: ReportData) -> str:
    annex = data.annex
    if annex.empty:
        return "Trong kỳ không có hồ sơ giải quyết quá hạn hoặc đang giải quyết quá hạn."
    late = int((annex["bucket"] == "late").sum())
    overdue = int((annex["bucket"] == "overdue").sum())
    parts = [f"{fmt_count(n)} hồ sơ {what}" for n, what in ((late, "giải quyết quá hạn"),
                                                             (overdue, "đang giải quyết quá hạn")) if n]
    per_unit = annex.groupby("resolving_unit", dropna=False).size().sort_values(ascending=False)
    units = "; ".join(f"{'chưa xác định đơn vị' if pd.isna(unit) else unit}: {fmt_count(n)} hồ sơ"
                      for unit, n in per_unit.items())
    return (f"Trong kỳ có {' và '.join(parts)}; theo đơn vị giải quyết: {units} (danh sách chi tiết tại trang "
            "tính \"Hồ sơ quá hạn\" của tệp Excel kèm theo).")


# --- document building -------------------------------------------------------------------------

def _set_font(run_or_style, size: int | None = None, bold: bool | None = None, italic: bool | None = None) -> None:
    font = run_or_style.font
    font.name = FONT
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    element = run_or_style.element if hasattr(run_or_style, "element") else run_or_style._element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)


def _setup_styles(document) -> None:
    normal = document.styles["Normal"]
    _set_font(normal, BODY_PT)
    paragraph = normal.paragraph_format
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.first_line_indent = INDENT
    paragraph.space_before = Pt(0)
    paragraph.space_after = Pt(6)
    paragraph.line_spacing = 1.15


def _page_setup(section, landscape: bool = False) -> None:
    width, height = Cm(21), Cm(29.7)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    # Margins of NĐ 30/2020/NĐ-CP (administrative documents): top/bottom 2 cm, left 3 cm, right 1.5-2 cm.
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = (Cm(2), Cm(2)) if landscape else (Cm(3), Cm(2))


def _paragraph(container, text: str = "", *, bold=False, italic=False, size=None, align=None, indent=True):
    paragraph = container.add_paragraph()
    if not indent:
        paragraph.paragraph_format.first_line_indent = Cm(0)
    if align is not None:
        paragraph.alignment = align
    if text:
        _set_font(paragraph.add_run(xml_text(text)), size, bold, italic)
    return paragraph


def _cell_text(cell, text: str, *, bold=False, italic=False, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER):
    cell.text = ""
    lines = text.split("\n")
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        paragraph.paragraph_format.first_line_indent = Cm(0)
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.alignment = align
        _set_font(paragraph.add_run(xml_text(line)), size, bold, italic)


def _heading_block(document, data: ReportData) -> None:
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _set_widths(table, (Cm(6), Cm(10)))
    _cell_text(table.cell(0, 0), "\n".join(data.organization), bold=True, size=13)
    _cell_text(table.cell(0, 1), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc", bold=True,
               size=12)
    _cell_text(table.cell(1, 0), "Số:        /BC-UBND", size=13)
    _cell_text(table.cell(1, 1), data.date_line, italic=True, size=13)


def _title(document, data: ReportData) -> None:
    _paragraph(document, "BÁO CÁO", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False).paragraph_format \
        .space_before = Pt(12)
    label = data.period.label
    _paragraph(document, f"Tình hình, kết quả giải quyết thủ tục hành chính {label[0].lower() + label[1:]}",
               bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(document, f"(Dự thảo lập tự động từ dữ liệu phần mềm một cửa; {data.period_sentence[0].lower()}"
               f"{data.period_sentence[1:]})", italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)


def _heading(document, text: str) -> None:
    paragraph = _paragraph(document, text, bold=True)
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.keep_with_next = True


def _body(document, data: ReportData) -> None:
    kpis = data.kpis
    period = data.period.label[0].lower() + data.period.label[1:]
    reporter = (f"Ủy ban nhân dân {unit_in_prose(data.unit_name)} báo cáo" if data.single_unit
                else f"tổng hợp số liệu của {data.unit_name}")
    _paragraph(document, "Thực hiện chế độ báo cáo định kỳ về tình hình, kết quả giải quyết thủ tục hành chính, "
               f"{reporter} kết quả {period} như sau:")
    _heading(document, "I. TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH")
    _heading(document, "1. Tiếp nhận hồ sơ")
    _paragraph(document, received_sentence(kpis))
    non_territorial = non_territorial_sentence(kpis)
    if non_territorial:
        _paragraph(document, non_territorial)
    levels = levels_sentence(kpis)
    if levels:
        _paragraph(document, levels)
    if int(data.procedure_levels["offered"].sum()):
        _paragraph(document, "Thủ tục hành chính theo mức độ dịch vụ công trực tuyến: "
                   + metrics.procedures_by_level_sentence(data.procedure_levels))
    _heading(document, "2. Kết quả giải quyết hồ sơ")
    for text in (resolved_sentence(kpis), pending_sentence(kpis, data.period.end), on_time_766_sentence(kpis),
                 returned_sentence(kpis)):
        if text:
            _paragraph(document, text)
    _heading(document, "3. Số hóa hồ sơ, kết quả giải quyết và thanh toán trực tuyến")
    _paragraph(document, digital_sentence(kpis, data.counts))
    _heading(document, "4. So sánh với kỳ trước và cùng kỳ năm trước")
    for sentence in comparison_sentences(data):
        _paragraph(document, sentence)
    _comparison_table(document, data)
    _heading(document, "5. Hồ sơ quá hạn")
    _paragraph(document, annex_sentence(data))
    reappointment = reappointment_sentence(data)
    if reappointment:
        _paragraph(document, reappointment)


def comparison_sentences(data: ReportData) -> list[str]:
    """Against the previous period and the same period last year; once when they are the same (a year)."""
    if data.last_year_is_previous:
        return [comparison_sentence(data.kpis, data.previous, "Kỳ trước (cũng là cùng kỳ năm trước)",
                                    data.period.previous().label)]
    return [comparison_sentence(data.kpis, data.previous, "Kỳ trước", data.period.previous().label),
            comparison_sentence(data.kpis, data.last_year, "Cùng kỳ năm trước",
                                data.period.same_period_last_year().label)]


def _comparison_table(document, data: ReportData) -> None:
    rows = [("Số hồ sơ tiếp nhận trong kỳ", lambda k: fmt_int(k["received"]["new"])),
            ("Số hồ sơ đã giải quyết", lambda k: fmt_int(k["resolved"]["total"])),
            ("Số hồ sơ đang giải quyết", lambda k: fmt_int(k["pending"]["total"]))]
    rows += [(metrics.RATES[key].label, lambda k, key=key: _rate_cell(k, key)) for key in metrics.RATES]
    header = ["Chỉ tiêu", data.period.label, f"Kỳ trước\n({data.period.previous().label})",
              f"Cùng kỳ năm trước\n({data.period.same_period_last_year().label})"]
    others = [data.kpis, data.previous, data.last_year]
    if data.last_year_is_previous:  # a year report: one column, not the same numbers twice
        header, others = header[:3], others[:2]
        header[2] = f"Kỳ trước, cùng kỳ năm trước\n({data.period.previous().label})"
    table = document.add_table(rows=len(rows) + 1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell_text(cell, text, bold=True, size=11)
    for index, (label, value) in enumerate(rows, start=1):
        cells = table.rows[index].cells
        _cell_text(cells[0], label, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
        for col, kpis in enumerate(others, start=1):
            _cell_text(cells[col], value(kpis), size=11, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _set_widths(table, (Cm(7.5), Cm(2.8), Cm(3), Cm(3))[:len(header)])
    _paragraph(document, "")


def _rate_cell(kpis: dict, key: str) -> str:
    value, coverage = kpis["rates"].get(key), kpis.get("coverage", {}).get(key)
    if value is None and coverage and coverage.get("denominator"):
        return NO_DATA
    return fmt_pct(value)


def _settings_footnote(document, data: ReportData) -> None:
    """Calendar and every rule in force: the figures can be reproduced (motcua kpi --json, 'settings')."""
    calendar = ("kỳ báo cáo từ ngày 15 tháng trước đến ngày 14 (NĐ 09/2019/NĐ-CP)" if data.period.calendar == "report"
                else "tháng, quý dương lịch (như Cổng DVCQG)")
    _paragraph(document, f"Ghi chú: số liệu tính theo {calendar}; {settings_sentence(data.settings)}", italic=True,
               size=11, indent=False)


def settings_sentence(settings) -> str:
    block = metrics.settings_block(settings)
    rules = "; ".join(f"{name} = {', '.join(value) if isinstance(value, list) else value}"
                      for name, value in block.items())
    warning = f" {metrics.EXCLUDED_WARNING}" if block["returned_policy"] == "excluded" else ""
    return f"cách tính: {rules}.{warning}"


def _set_widths(table, widths: Sequence) -> None:
    """Fixed column widths: Word reads the cell widths, LibreOffice the table grid, so set both."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=False):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=False):
            cell.width = width


def _charts(document, data: ReportData, images: Sequence[tuple[str, bytes]], chart_note: str | None) -> None:
    _heading(document, "II. BIỂU ĐỒ")
    if not images:
        _paragraph(document, chart_note or "Không có biểu đồ kèm theo.", italic=True)
        return
    for number, (title, png) in enumerate(images, start=1):
        picture = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
        picture.paragraph_format.keep_with_next = True
        picture.add_run().add_picture(io.BytesIO(png), width=IMAGE_WIDTH)
        _paragraph(document, f"Biểu đồ {number}. {title} ({data.caption})", italic=True, size=12,
                   align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)


def _signature(document, data: ReportData) -> None:
    table = document.add_table(rows=1, cols=2)
    _set_widths(table, (Cm(8), Cm(8)))
    _cell_text(table.cell(0, 0), "Nơi nhận:\n- UBND tỉnh (để báo cáo);\n- Lưu: VT.", size=11,
               align=WD_ALIGN_PARAGRAPH.LEFT)
    table.cell(0, 0).paragraphs[0].runs[0].font.bold = True
    table.cell(0, 0).paragraphs[0].runs[0].font.italic = True
    _cell_text(table.cell(0, 1), "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", bold=True, size=13)


def _bieu06_annex(document, data: ReportData) -> None:
    section = document.add_section()
    _page_setup(section, landscape=True)
    _paragraph(document, "PHỤ LỤC: BIỂU SỐ LIỆU", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(document, "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI " + data.unit_name.upper(),
               bold=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(document, data.period_sentence, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(document, "Đơn vị tính: Số hồ sơ TTHC", italic=True, size=11, align=WD_ALIGN_PARAGRAPH.RIGHT,
               indent=False)
    records = data.fields.to_dict("records")
    table = document.add_table(rows=4 + len(records) + 1, cols=13)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _bieu06_header(table)
    # table.cell() rescans the whole grid on every call; fetch each row's cells once instead.
    for index, record in enumerate([*records, None], start=4):
        cells = table.rows[index].cells
        source = data.total if record is None else record
        bold = record is None
        _cell_text(cells[0], "" if bold else str(index - 3), size=TABLE_PT, bold=bold)
        _cell_text(cells[1], "Tổng cộng" if bold else str(record["label"]), size=TABLE_PT, bold=bold,
                   align=WD_ALIGN_PARAGRAPH.CENTER if bold else WD_ALIGN_PARAGRAPH.LEFT)
        for offset, (_label, keys) in enumerate(BIEU06_COLUMNS):
            _cell_text(cells[2 + offset], fmt_int(bieu06_value(source, keys)), size=TABLE_PT, bold=bold,
                       align=WD_ALIGN_PARAGRAPH.RIGHT)
    _set_widths(table, [Cm(1)] + [Cm(5.2)] + [Cm(1.75)] * 11)


def _bieu06_header(table) -> None:
    # Cells fetched once (table.cell() rescans the grid). Merges never reference a cell removed by an
    # earlier horizontal merge, so these handles stay valid.
    grid = [table.rows[row].cells for row in range(4)]

    def merged(r1, c1, r2, c2, text):
        cell = grid[r1][c1].merge(grid[r2][c2]) if (r1, c1) != (r2, c2) else grid[r1][c1]
        _cell_text(cell, text, bold=True, size=TABLE_PT)

    merged(0, 0, 2, 0, "STT")
    merged(0, 1, 2, 1, "Lĩnh vực, công việc giải quyết theo cấp")
    for label, first, last in (("Số hồ sơ nhận giải quyết", 2, 5), ("Số hồ sơ đã giải quyết", 6, 9),
                               ("Số hồ sơ đang giải quyết", 10, 12)):
        merged(0, first, 0, last, label)
        merged(1, first, 2, first, "Tổng số")
        merged(1, first + 1, 1, last, "Trong đó")
    for offset, (label, _keys) in enumerate(BIEU06_COLUMNS):
        if label != "Tổng số":
            merged(2, 2 + offset, 2, 2 + offset, label)
    for col, cell in enumerate(grid[3]):
        _cell_text(cell, f"({col + 1})", italic=True, size=TABLE_PT)


def document_bytes(data: ReportData, images: Sequence[tuple[str, bytes]] = (),
                   chart_note: str | None = None) -> bytes:
    """The draft report as .docx bytes; ``images`` are (title, PNG bytes) pairs."""
    document = Document()
    _setup_styles(document)
    _page_setup(document.sections[0])
    document.core_properties.title = xml_text(f"Báo cáo tình hình, kết quả giải quyết TTHC – {data.caption}")
    document.core_properties.author = "Một Cửa KPI"
    _heading_block(document, data)
    _title(document, data)
    _body(document, data)
    _charts(document, data, images, chart_note)
    _settings_footnote(document, data)
    _signature(document, data)
    _bieu06_annex(document, data)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
