"""Readers: every export format and messiness case -> RawTable (built in tmp_path, no fixtures on disk)."""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile

import pyarrow as pa
import pytest
from conftest import PII_VALUES, csv_bytes

from loaders.model import RAW_FIELDS, LoadError, RawTable
from loaders.readers import read_file
from loaders.sniff import sniff_format


def only_table(tables: list[RawTable]) -> RawTable:
    assert len(tables) == 1
    return tables[0]


def rows(table: RawTable) -> list[dict]:
    return table.table.to_pylist()


def all_text(table: RawTable) -> str:
    """Everything a RawTable carries, as one string (to prove personal data never got in)."""
    parts = [str(value) for row in rows(table) for value in row.values()]
    parts += [*table.column_map, *table.column_map.values(), *table.ignored_columns, table.title_unit or ""]
    return "\n".join(parts)


def assert_contract(table: RawTable) -> None:
    schema = table.table.schema
    assert schema.names[-1] == "source_row" and schema.field("source_row").type == pa.int32()
    for name in schema.names[:-1]:
        assert name in RAW_FIELDS or name in ("has_fee",), name
        assert schema.field(name).type == pa.string()
    for row in rows(table):
        for name, value in row.items():
            if isinstance(value, str):
                assert value and value == unicodedata.normalize("NFC", value).strip(), (name, value)


# --------------------------------------------------------------------------------------------------- xlsx


def messy_xlsx_rows() -> tuple[list[list], list[tuple]]:
    grid = [
        ["ỦY BAN NHÂN DÂN HUYỆN TỨ KỲ", None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
        ["ỦY BAN NHÂN DÂN XÃ PHƯỢNG KỲ"],
        [],
        [None],  # merged title row (written by merges below)
        [],
        [None] * 9,  # parent header row (merged cells)
        [None, None, None, "Tiếp nhận", "Hẹn trả", "Trả kết quả", "Thành phần", "Kết quả", None],
        [None],  # group row (merged)
        [1, "000.00.12.H23-230105-0001", "Nguyễn Văn An", dt.datetime(2023, 1, 5, 8, 30),
         dt.datetime(2023, 1, 6, 17, 0), dt.date(2023, 1, 6), 1, 0, 10],
        [2, None, "Trần Thị Bình", dt.datetime(2023, 1, 6, 9, 0), None, None, None, None, "Đang xử lý"],
        [None],  # second group row
        [1, 12345, "Lê Văn Cường", "07/01/2023 10:15", 45845.5, None, 1.0, None, 4],
        ["Tổng cộng", None, None, None, None, None, 2, 0, None],
    ]
    merges = [
        (3, 0, 3, 8, "DANH SÁCH HỒ SƠ TIẾP NHẬN (Từ ngày 01/01/2023 đến ngày 31/03/2023)"),
        (5, 0, 6, 0, "STT"), (5, 1, 6, 1, "Mã hồ sơ"), (5, 2, 6, 2, "Chủ hồ sơ"),
        (5, 3, 5, 5, "Ngày"), (5, 6, 5, 7, "Số hóa"), (5, 8, 6, 8, "Trạng thái"),
        (7, 0, 7, 8, "Xã Phượng Kỳ"),
        (10, 0, 10, 8, "Bộ phận một cửa"),
    ]
    return grid, merges


def test_xlsx_title_rows_two_level_header_groups_and_total(make_xlsx):
    grid, merges = messy_xlsx_rows()
    path = make_xlsx("so_theo_doi.xlsx", {"Danh sách": grid}, {"Danh sách": merges})
    table = only_table(read_file(path))
    assert_contract(table)
    assert (table.format, table.source, table.kind) == ("xlsx", "local", "dossiers")
    assert table.title_unit == "Xã Phượng Kỳ"  # commune line preferred over the district line
    assert (table.period_from, table.period_to) == (dt.date(2023, 1, 1), dt.date(2023, 3, 31))
    assert table.sheet_name == "Danh sách" and table.header_row == 7
    assert table.column_map == {
        "Mã hồ sơ": "dossier_code", "Ngày Tiếp nhận": "received_at", "Ngày Hẹn trả": "due_at",
        "Ngày Trả kết quả": "returned_at", "Số hóa Thành phần": "digitized",
        "Số hóa Kết quả": "electronic_result", "Trạng thái": "status",
    }
    assert table.dropped_pii == ["Chủ hồ sơ"] and table.ignored_columns == ["STT"]
    assert table.skipped_rows == {"title": 5, "group": 2, "total": 1}
    got = rows(table)
    assert [row["source_row"] for row in got] == [9, 10, 12]
    assert got[0] == {
        "dossier_code": "000.00.12.H23-230105-0001", "group_label": "Xã Phượng Kỳ",
        "received_at": "2023-01-05 08:30:00", "due_at": "2023-01-06 17:00:00",
        "returned_at": "2023-01-06 00:00:00", "status": "10", "digitized": "1", "electronic_result": "0",
        "source_row": 9,
    }
    # A row without a dossier code is still emitted: the pipeline rejects it with a reason.
    assert got[1]["dossier_code"] is None and got[1]["status"] == "Đang xử lý"
    # Numbers stay text: integer codes/flags lose ".0", a serial without date format stays a serial.
    assert got[2]["dossier_code"] == "12345" and got[2]["digitized"] == "1"
    assert got[2]["due_at"] == "45845.5" and got[2]["group_label"] == "Bộ phận một cửa"
    assert not any(value in all_text(table) for value in PII_VALUES)


def test_xlsx_every_sheet_with_a_table_is_read(make_xlsx, dossier_rows):
    path = make_xlsx("multi.xlsx", {
        "Hướng dẫn": [["Ghi chú: dữ liệu xuất từ hệ thống một cửa"]],
        "Quý 1": dossier_rows,
        "Trống": [],
        "Quý 2": dossier_rows[:2],
    })
    tables = read_file(path)
    assert [table.sheet_name for table in tables] == ["Quý 1", "Quý 2"]
    assert [table.table.num_rows for table in tables] == [3, 1]
    assert rows(tables[1])[0]["source_row"] == 2


def test_biff_xls_is_read_with_real_dates(make_file, tmp_path):
    xlwt = pytest.importorskip("xlwt")
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("DS")
    sheet.write(0, 0, "UBND PHƯỜNG ĐỨC THUẬN")
    for col, text in enumerate(["Số biên nhận", "Thủ tục", "Ngày nhận", "Hạn xử lý", "Tình trạng"]):
        sheet.write(2, col, text)
    date_style = xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm")
    sheet.write(3, 0, "BN-001")
    sheet.write(3, 1, "Đăng ký thường trú")
    sheet.write(3, 2, dt.datetime(2024, 3, 1, 7, 45), date_style)
    sheet.write(3, 3, dt.datetime(2024, 3, 8, 17, 0), date_style)
    sheet.write(3, 4, 10)
    path = tmp_path / "bao_cao.xls"
    workbook.save(str(path))
    table = only_table(read_file(path))
    assert table.format == "xls" and table.title_unit == "Phường Đức Thuận"
    assert rows(table) == [{
        "dossier_code": "BN-001", "procedure_name": "Đăng ký thường trú", "received_at": "2024-03-01 07:45:00",
        "due_at": "2024-03-08 17:00:00", "status": "10", "source_row": 4,
    }]


def test_truncated_xlsx_is_a_clear_error(make_xlsx, make_file, dossier_rows):
    good = make_xlsx("good.xlsx", {"DS": dossier_rows}).read_bytes()
    path = make_file("cut.xlsx", good[: len(good) // 2])
    with pytest.raises(LoadError, match="cut.xlsx.*Excel bị hỏng"):
        read_file(path)


def test_zip_that_is_not_a_workbook(make_file, tmp_path):
    archive = tmp_path / "notes.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "xin chào")
    with pytest.raises(LoadError, match="Excel bị hỏng"):
        read_file(archive, file_name="ho_so.xlsx")


def test_extension_lies_xlsx_named_csv(make_xlsx, dossier_rows, tmp_path):
    path = make_xlsx("export.xlsx", {"DS": dossier_rows})
    renamed = path.rename(tmp_path / "export.csv")
    table = only_table(read_file(renamed))
    assert table.format == "xlsx" and table.table.num_rows == 3


# --------------------------------------------------------------------------------------------------- HTML

HTML_EXPORT = """\ufeff<html xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<script>alert("không được chạy")</script><style>td {{ mso-number-format: "\\@"; }}</style></head>
<body>
<div><h3>TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG XÃ TỨ KỲ</h3>
<p>Trạng thái hồ sơ: Tất cả</p></div>
<table border="1">
<tr><td colspan="8"><strong>DANH SÁCH HỒ SƠ</strong><br>(Từ ngày 01/07/2025 đến ngày 30/09/2025)</td></tr>
<tr><td colspan="8"><strong></strong></td></tr>
<tr><th rowspan="2">STT</th><th rowspan="2">Mã hồ sơ</th><th rowspan="2">Tên thủ tục</th>
<th colspan="3">Ngày</th><th rowspan="2">Người nộp</th><th rowspan="2">Trạng thái</th></tr>
<tr><th>Tiếp nhận</th><th>Hẹn trả</th><th>Trả kết quả</th></tr>
<tr><td colspan="8">UBND xã Tứ Kỳ</td></tr>
{body}
<tr><td colspan="5">Tổng số: 2 hồ sơ</td><td></td><td></td><td></td></tr>
</table></body></html>"""

HTML_BODY = """<tr><td>1</td><td>000.00.30.H26-250702-0001</td><td>Cấp bản sao trích lục hộ tịch</td>
<td>02/07/2025 08:00</td><td>03/07/2025 08:00</td><td>02/07/2025 15:30</td><td>Phạm Văn Dũng</td><td>Đã trả kết quả</td></tr>
<tr><td>2</td><td>000.00.30.H26-250703-0002</td><td>Đăng ký khai tử</td>
<td>03/07/2025 09:10</td><td>04/07/2025 09:10</td><td></td><td>Vũ Thị Em</td><td>Đang xử lý</td></tr>"""


def test_html_saved_as_xls_with_bom_colspan_and_script(make_file):
    path = make_file("DanhSachHoSo.xls", HTML_EXPORT.format(body=HTML_BODY))
    table = only_table(read_file(path))
    assert_contract(table)
    assert table.format == "html" and table.title_unit == "Xã Tứ Kỳ"
    assert (table.period_from, table.period_to) == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert table.dropped_pii == ["Người nộp"]
    assert table.skipped_rows == {"title": 4, "group": 1, "total": 1}
    got = rows(table)
    assert [row["dossier_code"] for row in got] == ["000.00.30.H26-250702-0001", "000.00.30.H26-250703-0002"]
    assert got[0]["received_at"] == "02/07/2025 08:00" and got[0]["returned_at"] == "02/07/2025 15:30"
    assert got[1]["returned_at"] is None and got[1]["group_label"] == "UBND xã Tứ Kỳ"
    # Two title lines above the table + 6 table rows before the first dossier.
    assert [row["source_row"] for row in got] == [8, 9]
    assert "Phạm Văn Dũng" not in all_text(table) and "alert" not in all_text(table)


def test_html_without_table_is_rejected(make_file):
    path = make_file("bao_cao.xls", "<html><body><p>Không có dữ liệu</p></body></html>")
    with pytest.raises(LoadError, match="không có bảng dữ liệu"):
        read_file(path)


# ------------------------------------------------------------------------------------------ SpreadsheetML

SPREADSHEETML = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Hồ sơ">
  <Table>
   <Row><Cell ss:MergeAcross="4"><Data ss:Type="String">UBND XÃ HÀ KỲ</Data></Cell></Row>
   <Row ss:Index="3">
    <Cell><Data ss:Type="String">Mã hồ sơ</Data></Cell>
    <Cell><Data ss:Type="String">Mã TTHC</Data></Cell>
    <Cell><Data ss:Type="String">Ngày tiếp nhận</Data></Cell>
    <Cell ss:Index="5"><Data ss:Type="String">Ngày hẹn trả</Data></Cell>
    <Cell><Data ss:Type="String">Kênh thực hiện</Data></Cell>
   </Row>
   <Row>
    <Cell><Data ss:Type="String">HS-01</Data></Cell>
    <Cell><Data ss:Type="String">1.001234</Data></Cell>
    <Cell><Data ss:Type="DateTime">2024-05-02T08:15:00.000</Data></Cell>
    <Cell ss:Index="5"><Data ss:Type="DateTime">2024-05-03T00:00:00.000</Data></Cell>
    <Cell><Data ss:Type="Number">2.0</Data></Cell>
   </Row>
   <Row ss:Index="6">
    <Cell><Data ss:Type="Number">778</Data></Cell>
    <Cell><Data ss:Type="String">2.000488</Data></Cell>
    <Cell><Data ss:Type="String">06/05/2024</Data></Cell>
   </Row>
  </Table>
 </Worksheet>
</Workbook>"""


def test_spreadsheetml_2003_index_merge_and_types(make_file):
    table = only_table(read_file(make_file("export.xls", SPREADSHEETML)))
    assert table.format == "spreadsheetml" and table.sheet_name == "Hồ sơ"
    assert table.title_unit == "Xã Hà Kỳ" and table.header_row == 3
    assert rows(table) == [
        {"dossier_code": "HS-01", "procedure_code": "1.001234", "channel": "2",
         "received_at": "2024-05-02 08:15:00", "due_at": "2024-05-03 00:00:00", "source_row": 4},
        {"dossier_code": "778", "procedure_code": "2.000488", "channel": None, "received_at": "06/05/2024",
         "due_at": None, "source_row": 6},
    ]


def test_spreadsheetml_entities_are_not_expanded(make_file):
    evil = SPREADSHEETML.replace('<?mso-application progid="Excel.Sheet"?>',
                                 '<?mso-application progid="Excel.Sheet"?>\n'
                                 '<!DOCTYPE Workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    evil = evil.replace("HS-01", "&x;")
    try:
        table = only_table(read_file(make_file("evil.xls", evil)))
    except LoadError:
        return  # refusing the file is fine too
    assert "root:" not in all_text(table)


# --------------------------------------------------------------------------------------------------- CSV


def test_csv_semicolon_utf8_bom_with_title_rows(make_csv, dossier_rows):
    path = make_csv("ds.csv", [["UBND XÃ PHƯỢNG KỲ"], ["(Từ ngày 01/01/2023 đến ngày 31/01/2023)"], [],
                               *dossier_rows], bom=True)
    table = only_table(read_file(path))
    assert_contract(table)
    assert (table.format, table.encoding, table.header_row) == ("csv", "utf-8-sig", 4)
    assert table.title_unit == "Xã Phượng Kỳ" and table.period_to == dt.date(2023, 1, 31)
    assert sorted(table.dropped_pii) == ["Chủ hồ sơ", "Số điện thoại"]
    got = rows(table)
    assert [row["source_row"] for row in got] == [5, 6, 7]
    assert got[0]["received_at"] == "05/01/2023 08:30" and got[2]["status"] == "10"
    assert not any(value in all_text(table) for value in PII_VALUES)


def test_csv_comma_without_bom(make_csv, dossier_rows):
    table = only_table(read_file(make_csv("ds.csv", dossier_rows, delimiter=",")))
    assert table.encoding == "utf-8"
    assert [row["procedure_name"] for row in rows(table)] == ["Đăng ký khai sinh", "Chứng thực bản sao",
                                                              "Đăng ký kết hôn"]


def test_csv_tab_delimited_utf16(make_file, dossier_rows):
    text = "\r\n".join("\t".join(str(value) for value in row) for row in dossier_rows)
    table = only_table(read_file(make_file("unicode.txt", b"\xff\xfe" + text.encode("utf-16-le"))))
    assert table.encoding == "utf-16" and table.table.num_rows == 3


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode like Windows: letters cp1258 lacks are written as base letter + combining tone mark."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tone = next(mark for mark in decomposed if mark in TONE_MARKS)
            base = unicodedata.normalize("NFC", decomposed.replace(tone, ""))
            out += base.encode("cp1258") + tone.encode("cp1258")
    return bytes(out)


def test_csv_windows_1258_comes_out_nfc(make_file, dossier_rows):
    text = csv_bytes([["ỦY BAN NHÂN DÂN XÃ PHƯỢNG KỲ"], *dossier_rows]).decode("utf-8")
    data = to_cp1258(text)
    assert data.decode("cp1258") != text  # cp1258 really stores combining marks here
    table = only_table(read_file(make_file("cp1258.csv", data)))
    assert table.encoding == "cp1258" and table.title_unit == "Xã Phượng Kỳ"
    assert [row["procedure_name"] for row in rows(table)] == ["Đăng ký khai sinh", "Chứng thực bản sao",
                                                              "Đăng ký kết hôn"]
    assert_contract(table)


def test_csv_ascii_header_with_windows_1258_body(make_file):
    text = "Ma ho so;Ten thu tuc;Ngay tiep nhan\r\n" + "\r\n".join(
        f"HS{index:03d};Đăng ký kết hôn;0{index % 9 + 1}/02/2024" for index in range(80))
    table = only_table(read_file(make_file("legacy.csv", to_cp1258(text))))
    assert table.encoding == "cp1258"
    assert rows(table)[79] == {"dossier_code": "HS079", "procedure_name": "Đăng ký kết hôn",
                               "received_at": "08/02/2024", "source_row": 81}


def test_csv_nfd_and_header_without_diacritics(make_file):
    text = ("Ma ho so,Ten thu tuc hanh chinh,Ngay tiep nhan,Trang thai,Don vi/ ca nhan giai quyet\t\n"
            "HS1,  Đăng   ký khai sinh ,01/02/2024,Đã trả kết quả,UBND xã Tân Tiến\n")
    table = only_table(read_file(make_file("nfd.csv", unicodedata.normalize("NFD", text))))
    assert rows(table) == [{
        "dossier_code": "HS1", "resolving_unit": "UBND xã Tân Tiến", "procedure_name": "Đăng ký khai sinh",
        "received_at": "01/02/2024", "status": "Đã trả kết quả", "source_row": 2,
    }]
    assert_contract(table)


def test_csv_blank_lines_group_total_and_repeated_header_keep_line_numbers(make_file):
    text = (
        "Mã hồ sơ;Ngày tiếp nhận;Trạng thái\n"
        "Xã Hà Kỳ;;\n"
        "HS1;01/02/2024;10\n"
        "\n"
        "HS2;02/02/2024;4\n"
        "Mã hồ sơ;Ngày tiếp nhận;Trạng thái\n"
        ";03/02/2024;4\n"
        "Tổng cộng;;2\n"
    )
    table = only_table(read_file(make_file("gaps.csv", text)))
    got = rows(table)
    assert [(row["dossier_code"], row["source_row"]) for row in got] == [("HS1", 3), ("HS2", 5), (None, 7)]
    assert all(row["group_label"] == "Xã Hà Kỳ" for row in got)
    assert table.skipped_rows == {"group": 1, "header": 1, "total": 1}


def test_csv_ragged_rows_and_quoted_line_breaks(make_file):
    text = ('Mã hồ sơ,Ngày tiếp nhận,Tên thủ tục\n'
            'HS1,01/02/2024,"Đăng ký\nkhai sinh"\n'
            'HS2,02/02/2024,Chứng thực,thừa\n')
    got = rows(only_table(read_file(make_file("ragged.csv", text))))
    assert got == [
        {"dossier_code": "HS1", "procedure_name": "Đăng ký khai sinh", "received_at": "01/02/2024", "source_row": 2},
        {"dossier_code": "HS2", "procedure_name": "Chứng thực", "received_at": "02/02/2024", "source_row": 4},
    ]


def test_separate_date_and_time_columns_are_combined(make_csv):
    path = make_csv("time.csv", [
        ["Số biên nhận", "Ngày nhận", "Giờ nhận", "Ngày hẹn trả", "Giờ hẹn trả"],
        ["BN1", "01/03/2024", "8:05", "05/03/2024", "16:30:00"],
        ["BN2", "02/03/2024", "", "06/03/2024", "17h00"],
        ["BN3", "03/03/2024 09:00", "10:00", "", "11:00"],
    ])
    got = rows(only_table(read_file(path)))
    assert [(row["received_at"], row["due_at"]) for row in got] == [
        ("01/03/2024 08:05", "05/03/2024 16:30"), ("02/03/2024", "06/03/2024 17:00"), ("03/03/2024 09:00", None)]


def test_time_column_with_excel_date_cells(make_xlsx):
    path = make_xlsx("t.xlsx", {"S": [["Mã hồ sơ", "Ngày tiếp nhận", "Giờ tiếp nhận", "Trạng thái"],
                                      ["HS1", dt.date(2024, 3, 1), "07:30", "2"]]})
    assert rows(only_table(read_file(path)))[0]["received_at"] == "01/03/2024 07:30"


def test_procedure_catalogue(make_csv):
    path = make_csv("danh_muc.csv", [
        ["Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Mức độ", "Có phí/lệ phí", "Thời hạn giải quyết (ngày)"],
        ["1.001193", "Đăng ký khai sinh", "Hộ tịch", "Toàn trình", "Không", "1"],
    ])
    table = only_table(read_file(path))
    assert table.kind == "procedures"
    assert rows(table) == [{"procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
                            "field_name": "Hộ tịch", "dvc_level": "Toàn trình", "has_fee": "Không",
                            "legal_days": "1", "source_row": 2}]


# -------------------------------------------------------------------------------------------- bad inputs


def test_empty_file(make_file):
    with pytest.raises(LoadError, match="'rong.csv'.*rỗng"):
        read_file(make_file("rong.csv", b""))


def test_whitespace_only_file(make_file):
    with pytest.raises(LoadError, match="rỗng"):
        read_file(make_file("trang.csv", b"\xef\xbb\xbf  \r\n\r\n"))


def test_garbage_bytes(make_file):
    data = bytes(range(256)) * 8
    with pytest.raises(LoadError, match="không nhận ra định dạng"):
        read_file(make_file("rac.xlsx", data))


def test_missing_required_column_names_it_and_lists_headers(make_csv):
    path = make_csv("thieu.csv", [["Mã hồ sơ", "Tên thủ tục", "Trạng thái", "Ngày hẹn trả"], ["HS1", "A", "1", "x"]])
    with pytest.raises(LoadError) as caught:
        read_file(path)
    message = str(caught.value)
    assert "thieu.csv" in message and "Ngày tiếp nhận" in message
    assert "'Tên thủ tục'" in message and "'Ngày hẹn trả'" in message
    assert caught.value.column == "Ngày tiếp nhận" and caught.value.row == 1


def test_no_header_at_all(make_csv):
    path = make_csv("lung_tung.csv", [["a", "b", "c"], ["1", "2", "3"]])
    # Unrecognised cells are counted, never echoed: in a file without a header they are data.
    with pytest.raises(LoadError, match="không tìm thấy dòng tiêu đề.*: \\(không có\\); 3 ô khác không hiển thị"):
        read_file(path)


def test_file_name_override_and_missing_file(tmp_path, make_csv, dossier_rows):
    path = make_csv("tmp123.csv", dossier_rows)
    assert only_table(read_file(path, file_name="Sổ theo dõi.csv")).file_name == "Sổ theo dõi.csv"
    with pytest.raises(LoadError, match="không đọc được tệp"):
        read_file(tmp_path / "khong_co.xlsx")


@pytest.mark.parametrize(("head", "expected"), [
    (b"PK\x03\x04rest", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"\xef\xbb\xbf<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\">", "html"),
    (b"  <TABLE><tr>", "html"),
    (b'<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook>', "spreadsheetml"),
    (b'{"service":"DongBoHoSoMC"', "json"),
    (b"\xef\xbb\xbf[{}]", "json"),
    (b"Ma ho so;Ngay\r\n", "csv"),
    (b"", "empty"),
    (b"\x00\x01\x02\x03garbage", "unknown"),
])
def test_sniff_format(head, expected):
    assert sniff_format(head) == expected


# --------------------------------------------------------------------------------------------------- JSON


def dvcqg_record(**overrides) -> dict:
    record = {
        "MaHoSo": "000.00.12.H23-250701-0001", "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "HT", "TenLinhVuc": "Hộ tịch", "KenhThucHien": "2", "ChuHoSo": "Nguyễn Văn An",
        "SoGiayToChuHoSo": "001099012345", "SoDienThoai": "0912345678", "DiaChiChuHoSo": "Thôn Như Lâm",
        "NgayNopHoSo": "20250701073000", "NgayTiepNhan": "20250701080000", "NgayHenTra": "20250702080000",
        "NgayKetThucXuLy": "20250701150000", "NgayTra": "20250701160000", "TrangThaiHoSo": "10",
        "DonViXuLy": "UBND xã Phượng Kỳ", "HoSoCoThanhPhanSoHoa": "1", "DuocThanhToanTrucTuyen": "2",
        "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "001099012345"}],
        "TaiLieuNop": [{"DuocSoHoa": "1", "DuocTaiSuDung": "0", "DuocLayTuKhoDMQG": "1"}],
        "DanhSachLePhi": [{"Gia": 8000}, {"Gia": "3.000"}, {"Gia": "2000 đ"}],
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy khai sinh"}],
        "DanhSachHoSoBoSung": [
            {"NgayBoSung": "20250701090000", "NgayTiepNhanBoSung": "20250701100000",
             "NgayHenTraMoi": "20250703080000"},
            {"NgayBoSung": "20250701110000", "NgayTiepNhanBoSung": "20250701113000",
             "NgayHenTraMoi": "20250704080000"},
        ],
    }
    record.update(overrides)
    return record


def test_dvcqg_json_wrapper_maps_fields_and_drops_pii(make_json):
    path = make_json("dongbo.json", {"service": "DongBoHoSoMC", "isUpdating": False, "data": [dvcqg_record()]})
    table = only_table(read_file(path))
    assert_contract(table)
    assert (table.format, table.source, table.kind) == ("json", "dvcqg", "dossiers")
    assert rows(table) == [{
        "dossier_code": "000.00.12.H23-250701-0001", "resolving_unit": "UBND xã Phượng Kỳ",
        "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh", "field_code": "HT",
        "field_name": "Hộ tịch", "channel": "2", "submitted_at": "20250701073000",
        "received_at": "20250701080000", "due_at": "20250702080000", "new_due_at": "20250704080000",
        "finished_at": "20250701150000", "returned_at": "20250701160000",
        "supplement_requested_at": "20250701110000", "supplement_received_at": "20250701113000",
        "status": "10", "digitized": "1", "electronic_result": "1", "reused": "1", "paid_online": "1",
        "fee": "13000", "supplement_count": "2", "supplement_waiting_days": "0.062500", "source_row": 1,
        "applicant_locality": None,  # "Thôn Như Lâm" names no commune: nothing of the address is kept
    }]
    assert table.dropped_pii == ["ChuHoSo", "DiaChiChuHoSo", "DinhDanhCHS", "SoDienThoai", "SoGiayToChuHoSo"]
    assert not any(value in all_text(table) for value in ("Nguyễn Văn An", "001099012345", "0912345678",
                                                          "Như Lâm"))


def test_dvcqg_json_bare_list_wrong_types_and_non_objects(make_json):
    records = [
        dvcqg_record(MaHoSo=12345, TrangThaiHoSo=9, KenhThucHien=None, TenTTHC={"x": 1},
                     HoSoCoThanhPhanSoHoa=True, DuocThanhToanTrucTuyen=3, DanhSachGiayToKetQua=[],
                     TaiLieuNop=[{"DuocTaiSuDung": 0}], DanhSachLePhi="không", DanhSachHoSoBoSung=[],
                     NgayKetThucXuLy=None, NgayTuChoi="20250701100000"),
        "không phải hồ sơ",
        {"MaHoSo": "HS-3", "NgayTiepNhan": 20250702080000.0},
    ]
    got = rows(only_table(read_file(make_json("list.json", records))))
    assert len(got) == 3 and [row["source_row"] for row in got] == [1, 2, 3]
    first = got[0]
    assert (first["dossier_code"], first["status"], first["channel"], first["procedure_name"]) == (
        "12345", "9", None, None)
    assert (first["digitized"], first["paid_online"], first["electronic_result"], first["reused"]) == (
        "1", "0", "0", "0")
    assert first["fee"] is None and first["supplement_count"] == "0" and first["new_due_at"] is None
    assert first["finished_at"] == "20250701100000"  # refusal time when processing never finished
    assert all(value is None for key, value in got[1].items() if key != "source_row")
    assert got[2]["dossier_code"] == "HS-3" and got[2]["received_at"] == "20250702080000"


def test_dvcqg_json_plain_data_wrapper_and_bad_json(make_json, make_file):
    table = only_table(read_file(make_json("d.json", {"data": [{"MaHoSo": "A", "NgayTiepNhan": "x"}]})))
    assert rows(table)[0]["dossier_code"] == "A"
    with pytest.raises(LoadError, match="không có danh sách hồ sơ"):
        read_file(make_json("e.json", {"error_code": 0, "message": "ok"}))
    with pytest.raises(LoadError, match="JSON sai cú pháp"):
        read_file(make_file("f.json", '{"data": [ {"MaHoSo": "A",, } ]}'))


def test_header_only_file_is_refused(make_csv, make_xlsx):
    with pytest.raises(LoadError, match="chỉ có dòng tiêu đề"):
        read_file(make_csv("tieu_de.csv", [["Mã hồ sơ", "Ngày tiếp nhận", "Trạng thái"]]))
    with pytest.raises(LoadError, match="chỉ có dòng tiêu đề"):
        read_file(make_xlsx("tieu_de.xlsx", {"A": [["Mã hồ sơ", "Ngày tiếp nhận", "Trạng thái"]]}))


def test_dossier_list_without_code_is_not_a_catalogue(make_csv):
    path = make_csv("khong_ma.csv", [["Mã TTHC", "Tên thủ tục", "Ngày tiếp nhận", "Trạng thái"],
                                     ["1.001193", "Đăng ký khai sinh", "01/02/2024", "10"]])
    with pytest.raises(LoadError, match="thiếu cột bắt buộc 'Mã hồ sơ'"):
        read_file(path)


def test_utf8_with_a_few_damaged_bytes_stays_utf8(make_file, dossier_rows):
    data = csv_bytes([["UBND XÃ TỨ KỲ"], *dossier_rows]).replace("Tứ".encode().upper(), b"T\xff\xfe")
    data = data.replace("Chứng".encode(), b"Ch\xff\xfeng")
    table = only_table(read_file(make_file("hong.csv", data)))
    assert table.encoding == "utf-8"
    assert [row["procedure_name"] for row in rows(table)][::2] == ["Đăng ký khai sinh", "Đăng ký kết hôn"]
    assert rows(table)[1]["procedure_name"].startswith("Ch\ufffd")


def test_json_without_any_record_object(make_file):
    with pytest.raises(LoadError, match="không có bản ghi hồ sơ"):
        read_file(make_file("so.json", "[1, 2, 3]"))
    with pytest.raises(LoadError, match="lồng nhau"):
        read_file(make_file("sau.json", "[" * 100_000 + "]" * 100_000))


def test_csv_windows_1258_only_after_the_header_area(make_file):
    ascii_rows = [f"HS{index:03d};Chung thuc;01/02/2024" for index in range(100)]
    text = "\r\n".join(["Ma ho so;Ten thu tuc;Ngay tiep nhan", *ascii_rows, "HS100;Đăng ký kết hôn;02/02/2024"])
    table = only_table(read_file(make_file("late.csv", to_cp1258(text))))
    assert table.encoding == "cp1258" and table.table.num_rows == 101
    assert rows(table)[-1] == {"dossier_code": "HS100", "procedure_name": "Đăng ký kết hôn",
                               "received_at": "02/02/2024", "source_row": 102}


def test_html_data_table_inside_a_layout_table(make_file):
    html = ("<html><body><table><tr><td><b>UBND PHƯỜNG ĐỨC THUẬN</b></td></tr><tr><td>"
            "<table><tr><th>Số hồ sơ</th><th>Thủ tục</th><th>Ngày nhận</th></tr>"
            "<tr><td>HS-9</td><td>Chứng thực chữ ký</td><td>09/09/2025</td></tr></table>"
            "</td></tr></table></body></html>")
    table = only_table(read_file(make_file("layout.htm", html)))
    assert table.title_unit == "Phường Đức Thuận"
    assert [row["dossier_code"] for row in rows(table)] == ["HS-9"]


def test_csv_padded_cells_are_trimmed_and_blank_cells_null(make_file):
    text = "Mã hồ sơ;Ngày tiếp nhận;Trạng thái;Ghi chú\nHS1 ; 01/02/2024 ;   ;x\nHS2;02/02/2024;10;\n"
    got = rows(only_table(read_file(make_file("pad.csv", text))))
    assert got == [
        {"dossier_code": "HS1", "received_at": "01/02/2024", "status": None, "source_row": 2},
        {"dossier_code": "HS2", "received_at": "02/02/2024", "status": "10", "source_row": 3},
    ]
